"""Property tests: normalising phones and emails, and typo-tolerant search."""

from __future__ import annotations

import string
import uuid

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rapport.accounts.models import Workspace
from rapport.core.context import Context
from rapport.core.search import Document, index_documents, search
from rapport.hub.schemas import PersonIn
from rapport.hub.service import people
from rapport.hub.validation import normalise_email, normalise_phone

REGIONS = ["US", "GB", "DE", "FR", "NL", "IN", "BR", "JP", "AU", "ZA"]


@st.composite
def written_phone(draw: st.DrawFn) -> tuple[str, str, str]:
    """A valid number, its E.164 form, and the way a person might type it."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    style = draw(st.sampled_from(["e164", "intl", "national", "00", "dotted"]))
    if style == "e164":
        typed = e164
    elif style == "intl":
        typed = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    elif style == "national":
        typed = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    elif style == "00":
        typed = "00" + e164[1:]
    else:
        digits = e164[1:]
        typed = "+" + ".".join(digits[i : i + 3] for i in range(0, len(digits), 3))
    padding = draw(st.sampled_from(["", " ", "  "]))
    return region, e164, padding + typed + padding


class TestPhones:
    @given(written_phone())
    def test_any_written_form_normalises_to_e164(self, case: tuple[str, str, str]) -> None:
        region, e164, typed = case
        assert normalise_phone(typed, region) == e164

    @given(written_phone())
    def test_normalising_is_idempotent(self, case: tuple[str, str, str]) -> None:
        region, _e164, typed = case
        once = normalise_phone(typed, region)
        assert normalise_phone(once, "US") == once

    @given(st.text(alphabet=string.ascii_letters + " -", min_size=1, max_size=20))
    def test_letters_are_never_a_phone(self, text: str) -> None:
        with pytest.raises(ValueError):
            normalise_phone(text)


class TestEmails:
    @given(st.emails())
    def test_normalising_is_idempotent_and_lower_case(self, email: str) -> None:
        try:
            once = normalise_email(email)
        except ValueError:
            assume(False)  # hypothesis emails include special-use domains we rightly refuse
            return
        assert once == once.lower()
        assert normalise_email(once) == once

    @given(st.emails())
    def test_case_of_the_address_does_not_matter(self, email: str) -> None:
        try:
            lower = normalise_email(email.lower())
        except ValueError:
            assume(False)
            return
        assert normalise_email(email.upper()) == lower


def one_typo(word: str, position: int, kind: str, letter: str) -> str:
    i = position % len(word)
    if kind == "substitute":
        return word[:i] + letter + word[i + 1 :]
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "insert":
        return word[:i] + letter + word[i:]
    j = min(i + 1, len(word) - 1)
    chars = list(word)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=6, max_size=12).map(str.title)


class TestSearch:
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        first=NAME,
        last=NAME,
        position=st.integers(min_value=1, max_value=20),
        kind=st.sampled_from(["substitute", "delete", "insert", "transpose"]),
        letter=st.sampled_from("aeiourstnl"),
    )
    def test_a_person_is_found_by_name_with_one_typo(
        self, ada_ctx: Context, first: str, last: str, position: int, kind: str, letter: str
    ) -> None:
        person = people.create(ada_ctx, PersonIn(first_name=first, last_name=last))
        typo = one_typo(last, position, kind, letter)
        hits = search(ada_ctx.session, ada_ctx.workspace_id, f"{first} {typo}", limit=10)
        assert person.id in [h.record_id for h in hits]

    def test_another_workspace_never_sees_the_person(
        self, ada_ctx: Context, dev_ctx: Context
    ) -> None:
        people.create(ada_ctx, PersonIn(first_name="Unique", last_name="Zanzibarian"))
        ada_ctx.session.flush()
        assert search(dev_ctx.session, dev_ctx.workspace_id, "Zanzibarian") == []
        assert search(ada_ctx.session, ada_ctx.workspace_id, "Zanzibarian")

    def test_a_workspace_in_the_same_index_bucket_never_sees_the_person(
        self, ada_ctx: Context
    ) -> None:
        # SQLite's trigram index files documents under the first hex digits of the workspace
        # id only: a workspace sharing them must still see nothing of this one.
        twin_id = uuid.UUID(ada_ctx.workspace_id.hex[:3] + uuid.uuid4().hex[3:])
        ada_ctx.session.add(Workspace(id=twin_id, name="Twin", slug=f"twin-{twin_id.hex[:8]}"))
        ada_ctx.session.flush()
        address = "quasimodo.bucket@example.org"
        twin_doc = Document("person", uuid.uuid4(), "Q. Bucket", address, [address])
        index_documents(ada_ctx.session, twin_id, [twin_doc], fresh=True)
        assert [h.record_id for h in search(ada_ctx.session, twin_id, address)] == [
            twin_doc.record_id
        ]
        assert search(ada_ctx.session, ada_ctx.workspace_id, address) == []
        own = people.create(ada_ctx, PersonIn(first_name="Own", email=address))
        assert [h.record_id for h in search(ada_ctx.session, ada_ctx.workspace_id, address)] == [
            own.id
        ]

    def test_phone_digits_find_the_person(self, ada_ctx: Context) -> None:
        person = people.create(ada_ctx, PersonIn(first_name="Ring", phone="+1 415 555 2671"))
        hits = search(ada_ctx.session, ada_ctx.workspace_id, "415-555-2671")
        assert hits and hits[0].record_id == person.id
