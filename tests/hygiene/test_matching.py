"""The matching engine on its own: blocking, comparison levels, EM and scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from rapport.hygiene.service import matching

PEOPLE: list[dict[str, Any]] = [
    {"given_name": "Katherine", "surname": "Johnson", "email": "kj@nasa.gov",
     "phone": "+1 (757) 555-0101", "city": "Hampton", "postcode": "23666"},
    {"given_name": "Katherin", "surname": "Jonson", "email": "KJ@NASA.gov",
     "phone": "757.555.0101", "city": "Hampton", "postcode": "23666"},
    {"given_name": "Dorothy", "surname": "Vaughan", "email": "dorothy@nasa.gov",
     "phone": "+1 757 555 0102", "city": "Hampton", "postcode": "23666"},
    {"given_name": "Dorothy", "surname": "Vaughn", "email": "dvaughan@example.org",
     "phone": "(757) 555-0102", "city": "Hampton"},
    {"given_name": "Mary", "surname": "Jackson", "email": "mary@nasa.gov",
     "phone": "+1 757 555 0103", "city": "Hampton", "postcode": "23666"},
    {"given_name": "Mary", "surname": "Jackson", "email": "mjackson@acme.com",
     "phone": "+44 20 7946 0958", "city": "London", "postcode": "SW1A 1AA"},
    {"given_name": "Alan", "surname": "Turing", "email": "alan@bletchley.uk",
     "phone": "+44 1908 640404", "city": "Bletchley", "postcode": "MK3 6EB"},
    {"given_name": "Grace", "surname": "Hopper", "email": "grace@navy.mil",
     "phone": "+1 202 555 0199", "city": "Arlington", "postcode": "22202"},
]  # fmt: skip


def _found(result: matching.Result, threshold: float = 0.5) -> set[tuple[int, int]]:
    return {(i, j) for i, j in result.pairs[result.above(threshold)].tolist()}


class TestNormalise:
    def test_phones_emails_and_names_are_made_comparable(self) -> None:
        a, b = (matching.normalise(PEOPLE[i]) for i in (0, 1))
        assert a["phone"] == b["phone"] == "575550101"
        assert a["email"] == b["email"] == "kj@nasa.gov"
        assert matching.normalise({"given_name": "  José-María "})["given_name"] == "jose maria"


class TestLevels:
    def test_comparators_grade_agreement(self) -> None:
        assert matching.name_level("katherine", "katherine") == 4
        assert matching.name_level("katherine", "katherin") == 3
        assert matching.name_level("katherine", "bob") == 1
        assert matching.name_level("", "bob") == 0
        assert matching.code_level("19560409", "19560904") == 2  # day and month swapped
        assert matching.email_level("katherine.johnson@nasa.gov", "katherine.jonhson@nasa.gov") == 2
        # Mailboxes are made of names: the same name written another way, or at another
        # provider, is a namesake's as often as the person's own.
        assert matching.email_level("kj@nasa.gov", "k.j1@nasa.gov") == 1
        assert matching.email_level("kj@nasa.gov", "kj@gmail.com") == 1
        assert matching.given_level("bob", "robert") == 3  # a nickname is not a disagreement
        assert matching.given_level("liz", "elizabeth") == 3
        assert matching.given_level("anna", "paul") == 1


class TestBlocking:
    def test_pairs_share_a_key_and_giant_blocks_are_windowed(self) -> None:
        records = [matching.normalise(p) for p in PEOPLE]
        pairs = {tuple(p) for p in matching.candidate_pairs(records).tolist()}
        assert {(0, 1), (2, 3), (4, 5)} <= pairs
        assert (6, 7) not in pairs
        crowd = [
            matching.normalise({"given_name": f"ann{i}", "surname": "smith"}) for i in range(300)
        ]
        windowed = matching.candidate_pairs(crowd, max_block=50, window=5)
        assert len(windowed) < 300 * 5 * 2  # not the 44,850 of all-to-all

    def test_linkage_pairs_only_across_sources(self) -> None:
        records = [matching.normalise(p) for p in (PEOPLE[0], PEOPLE[1], PEOPLE[0])]
        pairs = matching.candidate_pairs(records, source=[0, 1, 0]).tolist()
        assert sorted(map(tuple, pairs)) == [(0, 1), (1, 2)]


class TestLink:
    def test_planted_duplicates_are_found_and_distinct_people_are_not(self) -> None:
        result = matching.link([matching.normalise(p) for p in PEOPLE])
        found = _found(result)
        assert {(0, 1), (2, 3)} <= found  # typo'd names, reformatted phones, email case
        assert (4, 5) not in found  # same name, different person
        assert all(i < 6 and j < 6 for i, j in found)

    def test_em_learns_that_agreement_is_evidence_of_a_match(self) -> None:
        rng = np.random.default_rng(7)
        n = 4000
        match = rng.random(n) < 0.2
        fields = matching.PEOPLE_FIELDS[:4]
        vectors = np.zeros((n, len(fields)), dtype=np.int8)
        for k, spec in enumerate(fields):
            top = spec.levels
            agree = np.where(match, rng.random(n) < 0.9, rng.random(n) < 0.05)
            vectors[:, k] = np.where(agree, top, 1)
        model = matching.fit(vectors, fields)
        assert abs(model.prior - 0.2) < 0.03
        for k, spec in enumerate(fields):
            assert model.m[k][spec.levels] > 0.8 > model.u[k][spec.levels]
            assert model.m[k][spec.levels] > model.u[k][spec.levels]
        probability = matching.score(model, vectors)
        assert ((probability >= 0.5) == match).mean() > 0.97
