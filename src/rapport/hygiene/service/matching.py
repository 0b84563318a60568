"""A pure record-linkage engine: blocking, comparison vectors and a Fellegi-Sunter model fitted
by EM. It knows nothing of the database, so the Febrl benchmark and the people scan share it.

1. :func:`normalise` turns raw values into comparable strings (lower case, no punctuation,
   phone digits, canonical email).
2. :func:`candidate_pairs` unions several blocking keys (phonetic surname + initial, postcode,
   email, phone, date of birth…); a giant block is not paired all-to-all but by a sorted
   neighbourhood window, so the pair count stays near-linear.
3. :func:`compare` gives each pair one agreement level per field (0 = a value is missing,
   1 = disagree … top = exact), using Jaro-Winkler and Levenshtein from rapidfuzz; given
   names know nicknames (:mod:`nicknames`), swapped given and family names are compared
   crosswise, street, city and postcode make one address level, and a phone, address or
   company domain that several records hold agrees at a "shared" level of its own.
4. :func:`fit` estimates by EM the share and the level probabilities of four classes of
   pairs: the same person, a household, colleagues, strangers; :func:`score` turns a pair's
   levels into the posterior probability of the first, calibrated (a pair scored 0.9 is a
   duplicate about nine times in ten on the realistic extract of tests/hygiene/realdata).
5. :func:`held_back` says why a pair must never be merged without someone looking.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jellyfish
import numpy as np
from numpy.typing import NDArray
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from rapport.hygiene.service.nicknames import nickname_class, same_person_names

AUTO_MERGE = 0.95
REVIEW = 0.5
Record = dict[str, str]
Comparator = Callable[[str, str], int]


def _clean(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    return _clean_text(str(value))


@lru_cache(maxsize=200_000)
def _clean_text(value: str) -> str:
    """Names repeat a lot: a million people have a few thousand given names, cleaned once."""
    if not value.isascii():
        value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return " ".join(value.lower().translate(_KEEP).split())


# ASCII letters, digits, "@", "." and space are kept; any other ASCII character becomes a space.
_KEEP = str.maketrans(
    {chr(c): " " for c in range(128) if chr(c) not in "abcdefghijklmnopqrstuvwxyz0123456789@. "}
)


def _digits(value: Any) -> str:
    digits = re.sub(r"\D", "", "" if value is None else str(value))
    return digits[-9:]  # the national significant part; drops +1, 0044 and trunk zeros


def normalise(raw: Mapping[str, Any], names: Iterable[str] = ()) -> Record:
    """A record with every known field (and ``names``) as a comparable string ('' if missing)."""
    out = {name: _clean(raw.get(name)) for name in (*FIELDS, *names)}
    out["email"] = str(raw.get("email") or "").strip().lower()
    out["phone"] = _digits(raw.get("phone"))
    out["date_of_birth"] = re.sub(r"\D", "", str(raw.get("date_of_birth") or ""))
    out["domain"] = out["domain"].removeprefix("www.")
    return out


def _email(value: Any) -> str:
    return str(value or "").strip().lower()


def _date(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def _domain(value: Any) -> str:
    return _clean(value).removeprefix("www.")


# How each field is normalised (the same as :func:`normalise`), and whether its values repeat
# enough to clean each distinct value once (names, places) or are mostly unique (identifiers).
_NORMALISERS: dict[str, tuple[Callable[[Any], str], bool]] = {
    "email": (_email, False),
    "phone": (_digits, False),
    "date_of_birth": (_date, False),
    "domain": (_domain, True),
}


def normalise_columns(raw: Mapping[str, Sequence[Any]], size: int) -> Columns:
    """:func:`normalise` for ``size`` records given as one sequence of raw values per field
    (a field left out is missing everywhere): the same strings, but each repeated value (a
    given name, a city) is cleaned once, so a million records cost a second or two."""
    out: Columns = {}
    for name in FIELDS:
        values = raw.get(name)
        if values is None:
            out[name] = np.full(size, "", dtype=object)
            continue
        clean, repeats = _NORMALISERS.get(name, (_clean, True))
        if repeats:
            seen: dict[Any, str] = {}
            cleaned = [seen[v] if v in seen else seen.setdefault(v, clean(v)) for v in values]
        else:
            cleaned = [clean(v) if v is not None else "" for v in values]
        column = np.empty(size, dtype=object)
        column[:] = cleaned
        out[name] = column
    return out


# -- comparisons: each returns a level, 0 (missing) … top (exact) ---------------------------


def name_level(a: str, b: str) -> int:
    """Names: 1 disagree, 2 similar, 3 close (a typo), 4 exact (Jaro-Winkler)."""
    if not a or not b:
        return 0
    if a == b:
        return 4
    sim = JaroWinkler.similarity(a, b)
    return 3 if sim >= 0.92 else 2 if sim >= 0.8 else 1


def given_level(a: str, b: str) -> int:
    """Given names: like :func:`name_level`, but a nickname (Bob, Robert) is close, not
    different: one person's forms of a name are not evidence against them being one."""
    level = name_level(a, b)
    return 3 if level < 3 and same_person_names(a, b) else level


def text_level(a: str, b: str) -> int:
    """Free text (street): 1 disagree, 2 similar, 3 close, 4 exact (normalised Levenshtein)."""
    if not a or not b:
        return 0
    if a == b or a.replace(" ", "") == b.replace(" ", ""):
        return 4
    sim = Levenshtein.normalized_similarity(a, b)
    return 3 if sim >= 0.8 else 2 if sim >= 0.6 else 1


def code_level(a: str, b: str) -> int:
    """Codes (postcode, phone, date): 1 disagree, 2 one edit or a swap away, 3 exact."""
    if not a or not b:
        return 0
    if a == b:
        return 3
    if Levenshtein.distance(a, b) <= 1 or (len(a) == 8 and a[:4] + a[6:] + a[4:6] == b):
        return 2  # one typo, or a date with day and month swapped
    return 1


def exact_level(a: str, b: str) -> int:
    """Exact-only fields (state, company domain): 1 disagree, 2 agree."""
    if not a or not b:
        return 0
    return 2 if a == b else 1


def email_level(a: str, b: str) -> int:
    """Emails: 1 disagree, 2 a typo (same domain, nearly the same mailbox), 3 exact. The same
    mailbox at another provider is no closer than any other: mailboxes are made of the name
    ("john.smith@..."), so a namesake has it as often as the person's second record."""
    if not a or not b:
        return 0
    if a == b:
        return 3
    if (
        a.split("@")[-1] == b.split("@")[-1]
        and _letters(a) != _letters(b)
        and JaroWinkler.similarity(a, b) >= 0.93
    ):
        return 2
    return 1


def _letters(email: str) -> str:
    """A mailbox's letters: "john.smith" and "johnsmith2" are one name written two ways (no
    evidence beyond the name), "john.smtih" is a typo."""
    return "".join(ch for ch in email.split("@")[0] if ch.isalpha())


@dataclass(frozen=True)
class Field:
    """One compared field: its name, comparator, number of levels (missing excluded) and how
    rare agreement is between different people in the starting guess (``rarity``: each level
    up is that many times less likely; identifiers such as phone or email are rare).
    ``shared_at``: see PEOPLE_FIELDS; ``scored``: False for a field compared only to explain;
    ``start``: the starting guess of the model spelt out: P(level) for the same person, each
    kind of related people (RELATED) and strangers (see PEOPLE_FIELDS)."""

    name: str
    compare: Comparator
    levels: int
    rarity: float = 2.0
    shared_at: int = 0
    scored: bool = True
    start: tuple[tuple[float, ...], ...] = ()  # the starting guess per class and level


def address_level(a: str, b: str) -> int:
    """A marker: the address level is derived from the street, city and postcode levels
    (see :func:`_address_levels`), never compared on its own."""
    raise TypeError("the address is compared from its parts")


# ``shared_at``: an exact agreement on a value that this many records or more hold (a company
# switchboard, a family's home phone, a company domain, an office address) gets a level of its
# own, one below exact, so the fit weighs it apart: a value many people share says little
# about whether two of them are one person. Street, city, postcode and state are compared for
# the review's explanation but scored together as one ``address`` (they are not independent
# pieces of evidence: counted one by one, a shared address alone outweighed two different
# names); the address, like the names, weighs by how it agrees.
#
# The starting guesses (P of each level, from "different" up to "exact", for the same person,
# a household, colleagues and strangers among blocked pairs) are the prior EM starts from and
# is pulled towards, and the whole model when a handful of pairs gives nothing to fit. They
# say: one person's records almost always agree on the first name (a nickname or a typo is
# close) and mostly on the last name (marriage), but rarely on the email (a workspace holds
# each email once: a second record has another), and keep the phone or the address more
# often than not; a household shares the surname, the address and often the home phone, the
# first name almost never; colleagues share the company domain, often the office address and
# the switchboard, no name; strangers paired by blocking share a last name fairly often
# (blocks are made of names), the rest rarely.
PEOPLE_FIELDS = (
    Field("given_name", given_level, 4, start=(
        (.02, .03, .15, .80), (.90, .05, .03, .02), (.85, .08, .04, .03), (.75, .10, .05, .10))),
    Field("surname", name_level, 4, start=(
        (.05, .03, .12, .80), (.10, .03, .02, .85), (.85, .05, .05, .05), (.60, .05, .05, .30))),
    Field("email", email_level, 3, rarity=8.0, start=(
        (.85, .05, .10), (.99, .009, .001), (.99, .009, .001), (.995, .004, .001))),
    Field("phone", code_level, 4, rarity=8.0, shared_at=3, start=(
        (.30, .02, .08, .60), (.40, .01, .09, .50), (.50, .01, .39, .10),
        (.995, .003, .0015, .0005))),
    Field("street", text_level, 4, scored=False),
    Field("city", name_level, 4, scored=False),
    Field("postcode", code_level, 3, scored=False),
    Field("state", exact_level, 2, scored=False),
    Field("address", address_level, 5, rarity=4.0, shared_at=3, start=(
        (.25, .10, .10, .10, .45), (.10, .05, .05, .30, .50), (.25, .10, .05, .45, .15),
        (.90, .08, .01, .008, .002))),
    Field("date_of_birth", code_level, 3, rarity=8.0),
    Field("domain", exact_level, 3, shared_at=3, start=(
        (.30, .35, .35), (.85, .10, .05), (.05, .80, .15), (.90, .08, .02))),
)  # fmt: skip
# The record fields the engine reads (the address is made from its parts).
FIELDS = tuple(f.name for f in PEOPLE_FIELDS if f.compare is not address_level)
# The names of each field's levels, above 0 (missing): what the review shows.
LEVEL_NAMES: dict[Comparator, tuple[str, ...]] = {
    address_level: ("different", "same_area", "close", "shared", "exact"),
}


def level_name(spec: Field, level: int) -> str:
    """A level in words: missing, different, similar, close, shared or exact."""
    if level == 0:
        return "missing"
    named = LEVEL_NAMES.get(spec.compare)
    if named:
        return named[level - 1]
    if level == spec.levels:
        return "exact"
    if spec.shared_at and level == spec.levels - 1:
        return "shared"
    if level == 1:
        return "different"
    top = spec.levels - (2 if spec.shared_at else 1)
    return "close" if level == top else "similar"


# -- columns: the engine works on one array per field, not one dict per record --------------

Columns = dict[str, NDArray[np.object_]]


def columns(records: Sequence[Record] | Mapping[str, Sequence[str]]) -> Columns:
    """Records as one object array per field (already columns: just made arrays)."""
    if isinstance(records, Mapping):
        return {name: np.asarray(values, dtype=object) for name, values in records.items()}
    names = records[0].keys() if records else FIELDS
    return {name: np.array([r.get(name, "") for r in records], dtype=object) for name in names}


def codes(values: Sequence[str] | NDArray[np.object_]) -> NDArray[np.int64]:
    """An integer per distinct value (in order of first appearance): equality on ints is cheap."""
    seen = {v: k for k, v in enumerate(dict.fromkeys(values))}
    return np.fromiter(map(seen.__getitem__, values), np.int64, len(values))


def _distinct(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """Sorted distinct integers (a sort beats numpy's hash-based unique on big int arrays)."""
    values = np.sort(values)
    if len(values) == 0:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _rank(values: NDArray[np.object_]) -> NDArray[np.int64]:
    """The alphabetical rank of each value."""
    _uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    return inverse.astype(np.int64).reshape(-1)


# -- blocking --------------------------------------------------------------------------------


def _key_columns(cols: Columns) -> Iterator[list[str]]:
    """Each blocking key as one column of strings ('' = no key): phonetic surname + initial,
    phonetic given name + initial, both names in either order, email, phone, date of birth,
    postcode + state, start of the street + city."""
    n = len(cols["surname"])
    given, surname = cols["given_name"], cols["surname"]
    soundex = lru_cache(maxsize=None)(lambda v: jellyfish.soundex(v) if v else "")
    sg = [soundex(v) for v in given]
    ss = [soundex(v) for v in surname]
    yield [f"{s}{g[:1]}" if s else "" for s, g in zip(ss, given, strict=True)]
    yield [f"{s}{g[:1]}" if s else "" for s, g in zip(sg, surname, strict=True)]
    yield [f"{min(a, b)}|{max(a, b)}" if a and b else "" for a, b in zip(sg, ss, strict=True)]
    for name in ("email", "phone", "date_of_birth"):
        if name in cols:
            yield list(cols[name])
    if "postcode" in cols:
        state = cols.get("state", np.full(n, "", dtype=object))
        yield [p + "|" + s if p else "" for p, s in zip(cols["postcode"], state, strict=True)]
    if "street" in cols and "city" in cols:
        yield [
            f"{s[:6]}|{c[:4]}" if s and c else ""
            for s, c in zip(cols["street"], cols["city"], strict=True)
        ]


def _window_pairs(
    key: NDArray[np.int64], rank: NDArray[np.int64], max_block: int, window: int
) -> Iterator[NDArray[np.int64]]:
    """Pairs within each block of equal ``key`` (-1 = none): all pairs in a block of up to
    ``max_block`` records, neighbours within ``window`` (by name) in a bigger one."""
    idx = np.flatnonzero(key >= 0)
    k = key[idx]
    order = np.lexsort((rank[idx], k))
    idx, k = idx[order], k[order]
    small = (np.bincount(k) <= max_block)[k]
    for step in range(1, max_block):
        same = k[:-step] == k[step:]
        if step >= window:
            same &= small[:-step]
        if not same.any():
            return  # no block is bigger than this step
        yield np.stack([idx[:-step][same], idx[step:][same]], axis=1)


def candidate_pairs(
    records: Sequence[Record] | Columns,
    *,
    source: Sequence[int] | None = None,
    max_block: int = 100,
    window: int = 10,
) -> NDArray[np.int64]:
    """Index pairs ``(i, j)``, ``i < j``, sharing a blocking key; with ``source``, only pairs
    from different sources (linkage). A block over ``max_block`` is paired within a sliding
    ``window`` over its records sorted by name, so one common surname cannot explode the count.
    Keys are streamed one at a time and blocks paired with array operations, so a million
    records cost seconds and a few hundred MB."""
    cols = columns(records) if not isinstance(records, dict) else records
    n = len(cols["surname"])
    rank = _rank(cols["surname"] + "|" + cols["given_name"]) if n else np.zeros(0, np.int64)
    found: list[NDArray[np.int64]] = []
    for keys in _key_columns(cols):
        key = codes(keys)
        key[np.asarray(keys, dtype=object) == ""] = -1
        for chunk in _window_pairs(key, rank, max_block, window):
            lo, hi = np.minimum(chunk[:, 0], chunk[:, 1]), np.maximum(chunk[:, 0], chunk[:, 1])
            found.append(lo * n + hi)
        if sum(len(f) for f in found) > 20_000_000:  # keep memory flat: fold what we have
            found = [_distinct(np.concatenate(found))]
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    flat = _distinct(np.concatenate(found))
    pairs = np.stack([flat // n, flat % n], axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if source is not None:
        src = np.asarray(source)
        pairs = pairs[src[pairs[:, 0]] != src[pairs[:, 1]]]
    return pairs


# -- vectorised comparisons: the same levels as the scalar comparators above -----------------
# Each gets the field's column, its value codes and the pairs (i, j) that are neither missing
# nor exact, and returns their levels. rapidfuzz's cpdist scores string pairs in C++ on every
# core, each distinct pair of values once (a million "john"/"jon" pairs are one comparison).


DENSE_PAIRS = 32_000_000  # value pairs of a field indexed by a table (~160 MB at most)


@dataclass
class Column:
    """One field's values, an integer code per distinct value, and a value per code."""

    values: NDArray[np.object_]
    code: NDArray[np.int64]
    by_code: NDArray[np.object_]

    @classmethod
    def of(cls, values: NDArray[np.object_]) -> Column:
        code = codes(values)
        by_code = np.empty(int(code.max()) + 1 if len(code) else 0, dtype=object)
        by_code[code] = values
        return cls(values, code, by_code)


def _similarity(
    col: Column, i: NDArray[np.int64], j: NDArray[np.int64], scorer: Any, cutoff: float
) -> NDArray[np.float64]:
    if len(i) == 0:
        return np.zeros(0)
    base = len(col.by_code)
    if base * 2 > len(col.values):  # mostly distinct values (emails, phones): pairs rarely repeat
        return np.asarray(
            cpdist(col.values[i], col.values[j], scorer=scorer, score_cutoff=cutoff, workers=-1),
            np.float64,
        )
    key = col.code[i] * base + col.code[j]
    if base * base <= DENSE_PAIRS:  # few values (given names, cities): a table, not a sort
        seen = np.zeros(base * base, dtype=bool)
        seen[key] = True
        distinct = np.flatnonzero(seen)
        a, b = col.by_code[distinct // base], col.by_code[distinct % base]
        position = np.empty(base * base, dtype=np.int32)
        position[distinct] = np.arange(len(distinct), dtype=np.int32)
        sims = np.asarray(cpdist(a, b, scorer=scorer, score_cutoff=cutoff, workers=-1))
        return sims.astype(np.float64)[position[key]]
    distinct = _distinct(key)
    a, b = col.by_code[distinct // base], col.by_code[distinct % base]
    sims = np.asarray(cpdist(a, b, scorer=scorer, score_cutoff=cutoff, workers=-1), np.float64)
    return sims[np.searchsorted(distinct, key)]


def _name_levels(col: Column, i: NDArray[np.int64], j: NDArray[np.int64]) -> Any:
    sim = _similarity(col, i, j, JaroWinkler.similarity, 0.8)
    return np.where(sim >= 0.92, 3, np.where(sim >= 0.8, 2, 1))


def _given_levels(col: Column, i: NDArray[np.int64], j: NDArray[np.int64]) -> Any:
    levels = _name_levels(col, i, j)
    nick = np.fromiter(map(nickname_class, col.by_code), np.int64, len(col.by_code))[col.code]
    same = (nick[i] >= 0) & (nick[i] == nick[j])
    return np.where(same, np.maximum(levels, 3), levels)


def _text_levels(col: Column, i: NDArray[np.int64], j: NDArray[np.int64]) -> Any:
    packed = codes([v.replace(" ", "") for v in col.by_code])[col.code]
    sim = _similarity(col, i, j, Levenshtein.normalized_similarity, 0.6)
    levels = np.where(sim >= 0.8, 3, np.where(sim >= 0.6, 2, 1))
    return np.where(packed[i] == packed[j], 4, levels)


def _code_levels(col: Column, i: NDArray[np.int64], j: NDArray[np.int64]) -> Any:
    close = _similarity(col, i, j, Levenshtein.distance, 1) <= 1
    length = np.fromiter(map(len, col.by_code), np.int64, len(col.by_code))[col.code]
    dates = np.flatnonzero(~close & (length[i] == 8) & (length[j] == 8))
    close[dates] = [
        code_level(a, b) == 2
        for a, b in zip(col.values[i[dates]], col.values[j[dates]], strict=True)
    ]
    return np.where(close, 2, 1)


def _exact_levels(col: Column, i: NDArray[np.int64], j: NDArray[np.int64]) -> Any:
    return np.ones(len(i), dtype=np.int8)


def _email_levels(col: Column, i: NDArray[np.int64], j: NDArray[np.int64]) -> Any:
    domain = codes([v.split("@")[-1] for v in col.by_code])[col.code]
    letters = codes([_letters(v) for v in col.by_code])[col.code]
    close = _similarity(col, i, j, JaroWinkler.similarity, 0.93) >= 0.93
    return np.where(close & (domain[i] == domain[j]) & (letters[i] != letters[j]), 2, 1)


VECTORISED: dict[Comparator, Callable[[Column, Any, Any], Any]] = {
    name_level: _name_levels,
    given_level: _given_levels,
    text_level: _text_levels,
    code_level: _code_levels,
    exact_level: _exact_levels,
    email_level: _email_levels,
}


def compare(
    records: Sequence[Record] | Columns,
    pairs: NDArray[np.int64],
    fields: Sequence[Field] = PEOPLE_FIELDS,
) -> NDArray[np.int8]:
    """The comparison vectors: one agreement level per pair and field."""
    cols = columns(records) if not isinstance(records, dict) else records
    out = np.zeros((len(pairs), len(fields)), dtype=np.int8)
    i, j = pairs[:, 0], pairs[:, 1]
    for k, spec in enumerate(fields):
        if spec.compare is address_level:
            continue
        col = Column.of(cols[spec.name])
        blank = col.values == ""
        missing = blank[i] | blank[j]
        exact = (col.code[i] == col.code[j]) & ~missing
        rest = np.flatnonzero(~missing & ~exact)
        out[exact, k] = spec.levels
        if spec.shared_at:
            out[exact & (np.bincount(col.code)[col.code[i]] >= spec.shared_at), k] -= 1
        vectorised = VECTORISED.get(spec.compare)
        if vectorised is not None:
            out[rest, k] = vectorised(col, i[rest], j[rest])
        else:
            cmp = spec.compare
            a, b = col.values[i[rest]], col.values[j[rest]]
            out[rest, k] = [cmp(x, y) for x, y in zip(a, b, strict=True)]
    names = [f.name for f in fields]
    _unswap(cols, i, j, out, names)
    if "address" in names:
        out[:, names.index("address")] = _address_levels(cols, i, j, out, fields)
    return out


def _unswap(
    cols: Columns, i: NDArray[np.int64], j: NDArray[np.int64], out: NDArray[np.int8],
    names: list[str],
) -> None:  # fmt: skip
    """Given and family name entered the wrong way round (Smith John / John Smith): when the
    names agree better crosswise (a typo or a nickname allowed), the crosswise levels count.
    If only one name agrees crosswise, nothing tells whether it is the first name or the last;
    it is taken for the first (a married name on top of a swap), which the review and the
    auto-merge rule still see as last names that differ."""
    if "given_name" not in names or "surname" not in names or not len(i):
        return
    g, s = names.index("given_name"), names.index("surname")
    maybe = np.flatnonzero((out[:, g] <= 2) & (out[:, s] <= 2) & (out[:, g] > 0) & (out[:, s] > 0))
    if not len(maybe):
        return
    given, surname = cols["given_name"], cols["surname"]
    a, b = i[maybe], j[maybe]
    one = _cross_levels(given[a], surname[b])
    other = _cross_levels(surname[a], given[b])
    for mine, theirs, x, y in (
        (one, other, given[a], surname[b]),
        (other, one, surname[a], given[b]),
    ):
        nick = np.flatnonzero((theirs >= 3) & (mine < 3))
        nick = nick[[same_person_names(p, q) for p, q in zip(x[nick], y[nick], strict=True)]]
        mine[nick] = 3  # Smith Bob / Robert Smith
    straight = out[maybe, g].astype(np.int64) + out[maybe, s]
    swapped = (np.maximum(one, other) >= 3) & (one.astype(np.int64) + other > straight)
    out[maybe[swapped], g] = np.maximum(one, other)[swapped]
    out[maybe[swapped], s] = np.minimum(one, other)[swapped]


def _cross_levels(a: NDArray[np.object_], b: NDArray[np.object_]) -> NDArray[np.int8]:
    """:func:`name_level` of many pairs at once (rapidfuzz in C++ on every core)."""
    sim = np.asarray(cpdist(a, b, scorer=JaroWinkler.similarity, workers=-1), np.float64)
    levels = np.where(sim >= 0.92, 3, np.where(sim >= 0.8, 2, 1))
    return np.where(a == b, 4, levels).astype(np.int8)


def _address_levels(
    cols: Columns, i: NDArray[np.int64], j: NDArray[np.int64], out: NDArray[np.int8],
    fields: Sequence[Field],
) -> NDArray[np.int8]:  # fmt: skip
    """One address level from the street, city and postcode levels: 1 different, 2 same area
    (city or postcode), 3 close (same area, the street nearly the same), 4 shared (the same
    street and area, held by ``shared_at`` records or more: an office, a family home),
    5 exact; 0 if either side has neither street, city nor postcode."""
    names = [f.name for f in fields]
    spec = fields[names.index("address")]
    street, city, postcode = (out[:, names.index(n)] for n in ("street", "city", "postcode"))
    area = (city == fields[names.index("city")].levels) | (
        postcode == fields[names.index("postcode")].levels
    )
    known = (street > 0) | (city > 0) | (postcode > 0)
    same_street = street == fields[names.index("street")].levels
    key = codes(cols["street"] + "|" + cols["postcode"] + "|" + cols["city"])
    shared = np.bincount(key)[key[i]] >= spec.shared_at
    levels = np.where(area, 2, 1)
    levels = np.where(area & (street >= 2), 3, levels)
    levels = np.where(area & same_street, np.where(shared, 4, 5), levels)
    return np.where(known, levels, 0).astype(np.int8)


# -- the auto-merge rule ----------------------------------------------------------------------


def held_back(vector: Sequence[int], fields: Sequence[Field] = PEOPLE_FIELDS) -> str | None:
    """Why a pair of people must be reviewed by someone whatever its score, or None. A merge
    without review needs the same first name (a nickname or a typo is the same), the same
    last name, and one piece of evidence that is the person's own: an email, a phone or an
    address that nobody else in the workspace holds, or the date of birth. So family members
    and colleagues (who share a surname, an address, a switchboard or a company domain, but
    not a first name) and namesakes (who share only the name) are never merged unseen."""
    levels = {f.name: (int(v), f) for v, f in zip(vector, fields, strict=True)}
    if "given_name" not in levels:
        return None  # companies: no such rule
    given, surname = levels["given_name"][0], levels["surname"][0]
    if given == 0 or surname == 0:
        return "a name is missing"
    if given < 3:
        return "the first names differ"
    if surname < 3:
        return "the last names differ"
    own = []
    for name in ("email", "phone", "address", "date_of_birth"):
        level, spec = levels.get(name, (0, None))
        if spec is not None and level > 1 and level_name(spec, level) != "shared":
            own.append(name)
    if not own:
        return "only the names agree, or what agrees is shared by several people"
    return None


# -- the Fellegi-Sunter model ----------------------------------------------------------------
#
# Pairs come from more than two populations: the same person (m); people related without
# being one another, a household (same surname, address and home phone, another first name)
# and colleagues (same company domain, office and switchboard, other names); and strangers
# (u). A two-class model fitted by EM on blocked pairs learns households and colleagues as
# half-matches (a shared surname, address and phone outweighed two first names) and its
# probabilities pile up at 0 and 1; a class for each kind of related people explains shared
# contact data without a shared identity, and the match probability is the posterior of the
# first class against all the others.

RELATED = ("household", "colleagues")
# What defines each class, kept at its starting guess instead of fitted: a household lives at
# one address and colleagues work at one company, each under another first name; the same
# person has the same names. Left free, EM lets the biggest crowds of blocked pairs take the
# classes over: strangers sharing a surname became the household class on 20,000 records, and
# on 100,000 the household class took the matches while strangers sharing a first name took
# the match class (nothing right was found).
DEFINED_BY = {"household": ("address", "given_name"), "colleagues": ("domain", "given_name")}
MATCH_DEFINED_BY = ("given_name", "surname")


@dataclass
class Model:
    """Fitted level probabilities per field for each class (m: match, u: strangers,
    ``related``: one per kind of related people) and the class shares (``prior``: of
    matches; ``related_shares``)."""

    fields: tuple[str, ...]
    m: list[NDArray[np.float64]]
    u: list[NDArray[np.float64]]
    prior: float
    iterations: int = 0
    history: list[float] = field(default_factory=list)
    used: tuple[int, ...] = ()  # the columns of a comparison vector it scores (all if empty)
    related: list[list[NDArray[np.float64]]] = field(default_factory=list)
    related_shares: list[float] = field(default_factory=list)

    def classes(self) -> tuple[list[list[NDArray[np.float64]]], list[float]]:
        """Each class's level probabilities and share: match first, strangers last."""
        shares = [self.prior, *self.related_shares]
        return [self.m, *self.related, self.u], [*shares, max(1.0 - sum(shares), 1e-9)]

    def non_match(self) -> list[NDArray[np.float64]]:
        """P(level | not a match) per field: related people and strangers by their shares."""
        thetas, shares = self.classes()
        mix = np.asarray(shares[1:]) / sum(shares[1:])
        return [
            np.einsum("c,cl->l", mix, np.stack([theta[k] for theta in thetas[1:]]))
            for k in range(len(self.m))
        ]

    def weights(self) -> list[NDArray[np.float64]]:
        """log2 P(level | match) / P(level | not a match) per level; missing weighs nothing."""
        return [
            np.concatenate([[0.0], np.log2(m[1:] / u[1:])])
            for m, u in zip(self.m, self.non_match(), strict=True)
        ]

    def weights_by_field(self) -> dict[str, NDArray[np.float64]]:
        """:meth:`weights` by field name (fields compared only to explain are left out)."""
        return dict(zip(self.fields, self.weights(), strict=True))

    def scored(self, vectors: NDArray[np.int8]) -> NDArray[np.int8]:
        """The columns of ``vectors`` this model scores."""
        return vectors[:, list(self.used)] if self.used else vectors


def _scored(fields: Sequence[Field]) -> tuple[tuple[int, ...], list[Field]]:
    used = tuple(k for k, f in enumerate(fields) if f.scored)
    return used, [fields[k] for k in used]


def _ramp(levels: int, rarity: float, up: bool) -> NDArray[np.float64]:
    ramp = np.arange(1, levels + 1, dtype=np.float64)
    weights = 2.0**ramp if up else rarity**-ramp
    return np.concatenate([[1.0], weights / weights.sum()])


def _start(spec: Field, which: int) -> NDArray[np.float64]:
    guess = np.asarray(spec.start[which], dtype=np.float64)
    return np.concatenate([[1.0], guess / guess.sum()])


def _init(fields: Sequence[Field]) -> list[list[NDArray[np.float64]]]:
    """The starting guess of each class, match first and strangers last: a field's ``start``
    if it has one, else matches mostly agreeing and everyone else mostly disagreeing. The
    related classes are there only when some field spells out how related people compare."""
    classes = 2 + (len(RELATED) if any(f.start for f in fields) else 0)
    thetas = []
    for c in range(classes):
        up = c == 0
        thetas.append([
            _start(f, c) if f.start else _ramp(f.levels, f.rarity, up=up) for f in fields
        ])  # fmt: skip
    return thetas


def _start_shares(classes: int, prior: float) -> list[float]:
    """Matches ``prior``, each kind of related people half as many, strangers the rest."""
    related = [prior / 2] * (classes - 2)
    return [prior, *related, 1.0 - prior - sum(related)]


def _model(
    fields: list[Field], used: tuple[int, ...], thetas: list[Any], shares: Sequence[float]
) -> Model:
    return Model(tuple(f.name for f in fields), thetas[0], thetas[-1], float(shares[0]),
                 used=used, related=list(thetas[1:-1]),
                 related_shares=[float(x) for x in shares[1:-1]])  # fmt: skip


def prior_model(fields: Sequence[Field] = PEOPLE_FIELDS, prior: float = 0.1) -> Model:
    """The starting guess as a model: for scoring a handful of pairs with nothing to fit."""
    used, scored = _scored(fields)
    thetas = _init(scored)
    return _model(scored, used, thetas, _start_shares(len(thetas), prior))


def _log_likelihoods(
    patterns: NDArray[np.int8], thetas: Sequence[list[NDArray[np.float64]]]
) -> list[NDArray[np.float64]]:
    out = []
    for theta in thetas:
        total = np.zeros(len(patterns))
        for k in range(patterns.shape[1]):
            total += np.log(theta[k][patterns[:, k]])
        out.append(total)
    return out


def _posteriors(logs: list[NDArray[np.float64]], shares: Sequence[float]) -> NDArray[np.float64]:
    """P(class | pattern), one column per class, from log likelihoods and class shares."""
    joint = np.stack([lg + np.log(max(p, 1e-300)) for lg, p in zip(logs, shares, strict=True)], 1)
    joint -= joint.max(axis=1, keepdims=True)
    odds = np.exp(joint)
    return odds / odds.sum(axis=1, keepdims=True)


def fit(
    vectors: NDArray[np.int8],
    fields: Sequence[Field] = PEOPLE_FIELDS,
    *,
    prior: float = 0.1,
    max_iter: int = 200,
    tol: float = 1e-6,
    strength: float = 20.0,
) -> Model:
    """Fit the level probabilities of each class and the class shares by EM (on distinct
    patterns, weighted by their counts, so a million pairs cost no more than a few thousand).

    ``strength`` pseudo-pairs drawn from the starting guess are added to each estimate (a
    Dirichlet prior, and one on the class shares): a small workspace with a handful of pairs
    keeps sensible weights instead of over-fitting them, while on thousands of pairs the data
    wins."""
    used, scored = _scored(fields)
    levels = [f.levels for f in scored]
    thetas = _init(scored)
    start = _start_shares(len(thetas), prior)
    pseudo = [[x[1:] * strength for x in theta] for theta in thetas]
    names = [f.name for f in scored]
    fixed = {
        (1 + n, names.index(name))
        for n, kind in enumerate(RELATED)
        for name in DEFINED_BY[kind]
        if len(thetas) > 2 and name in names
    }
    if len(thetas) > 2:
        fixed |= {(0, names.index(name)) for name in MATCH_DEFINED_BY if name in names}
    model = _model(scored, used, thetas, start)
    if len(vectors) == 0:
        return model
    patterns, counts = _patterns(model.scored(vectors), levels)
    weights = counts.astype(np.float64)
    total = weights.sum()
    shares = np.asarray(start)
    for it in range(1, max_iter + 1):
        post = _posteriors(_log_likelihoods(patterns, thetas), list(shares))
        weighted = post * weights[:, None]
        new = (weighted.sum(axis=0) + strength * np.asarray(start)) / (total + strength)
        new = np.clip(new, 1e-6, None)
        new /= new.sum()
        for c, theta in enumerate(thetas):
            for k, n in enumerate(levels):
                if (c, k) in fixed:
                    continue
                seen = np.bincount(patterns[:, k], weights=weighted[:, c], minlength=n + 1)[1:]
                sums = seen + pseudo[c][k] + 1e-9
                theta[k] = np.concatenate([[1.0], sums / sums.sum()])
        delta = float(np.abs(new - shares).max())
        shares = new
        model.history.append(float(shares[0]))
        model.iterations = it
        if delta < tol:
            break
    fitted = _model(scored, used, thetas, list(shares))
    fitted.iterations, fitted.history = model.iterations, model.history
    return fitted


def _encode(vectors: NDArray[np.int8], levels: Sequence[int]) -> NDArray[np.int64]:
    """Each comparison vector as one integer (mixed radix), so distinct patterns are a 1-D
    unique instead of a slow row-wise one."""
    code = np.zeros(len(vectors), dtype=np.int64)
    for k, n in enumerate(levels):
        code = code * (n + 1) + vectors[:, k]
    return code


def _patterns(
    vectors: NDArray[np.int8], levels: Sequence[int]
) -> tuple[NDArray[np.int8], NDArray[np.int64]]:
    """The distinct comparison vectors and how often each occurs."""
    _unique, first, counts = np.unique(
        _encode(vectors, levels), return_index=True, return_counts=True
    )
    return vectors[first], counts


def score(model: Model, vectors: NDArray[np.int8]) -> NDArray[np.float64]:
    """The posterior match probability of each comparison vector (computed once per distinct
    pattern: a million pairs share a few thousand)."""
    if len(vectors) == 0:
        return np.zeros(0)
    vectors = model.scored(vectors)
    levels = [len(m) - 1 for m in model.m]
    _unique, first, inverse = np.unique(
        _encode(vectors, levels), return_index=True, return_inverse=True
    )
    thetas, shares = model.classes()
    post = _posteriors(_log_likelihoods(vectors[first], thetas), shares)
    return post[:, 0][inverse.reshape(-1)]


@dataclass
class Result:
    """Scored candidate pairs (indices into the input) and the fitted model."""

    pairs: NDArray[np.int64]
    vectors: NDArray[np.int8]
    probability: NDArray[np.float64]
    model: Model
    seconds: dict[str, float] = field(default_factory=dict)  # CPU seconds of each stage

    def above(self, threshold: float) -> NDArray[np.bool_]:
        """Which pairs reach ``threshold``."""
        return self.probability >= threshold


def link(
    records: Sequence[Record] | Columns,
    *,
    source: Sequence[int] | None = None,
    fields: Sequence[Field] = PEOPLE_FIELDS,
    max_block: int = 100,
    window: int = 10,
) -> Result:
    """Block, compare, fit and score: the whole engine on normalised records."""
    cols = columns(records) if not isinstance(records, dict) else records
    started = time.process_time()
    pairs = candidate_pairs(cols, source=source, max_block=max_block, window=window)
    paired = time.process_time()
    vectors = compare(cols, pairs, fields)
    compared = time.process_time()
    model = fit(vectors, fields)
    probability = score(model, vectors)
    seconds = {"pair": paired - started, "compare": compared - paired,
               "fit": time.process_time() - compared}  # fmt: skip
    return Result(pairs, vectors, probability, model, seconds)


# -- companies -------------------------------------------------------------------------------

LEGAL_SUFFIXES = frozenset(
    [
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "gmbh",
        "ag",
        "kg",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "oy",
        "ab",
        "as",
        "aps",
        "pty",
        "pte",
        "kk",
        "group",
        "holding",
        "holdings",
    ]
)
COMPANY_FIELDS = (
    Field("name", name_level, 4),
    Field("domain", exact_level, 2, rarity=16.0),
    Field("phone", code_level, 3, rarity=8.0),
    Field("city", name_level, 4),
    Field("country", exact_level, 2),
)


def company_name(value: Any) -> str:
    """A company name without case, punctuation, a leading "the" or legal suffixes
    ("The ACME Corp., Inc." -> "acme")."""
    words = _clean(value).replace(".", " ").split()
    if words[:1] == ["the"]:
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def normalise_company(raw: Mapping[str, Any]) -> Record:
    """A company as a comparable record: name, domain (no www.), phone digits, city, country."""
    domain = str(raw.get("domain") or "").strip().lower().removeprefix("www.")
    return {
        "name": company_name(raw.get("name")),
        "domain": domain,
        "phone": _digits(raw.get("phone")),
        "city": _clean(raw.get("city")),
        "country": _clean(raw.get("country")),
    }


def company_pairs(cols: Columns, *, max_block: int = 50, window: int = 8) -> NDArray[np.int64]:
    """Candidate company pairs: same domain, phone, start of the name, or phonetic name key."""
    n = len(cols["name"])
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    rank = _rank(cols["name"])
    metaphone = lru_cache(maxsize=None)(lambda v: jellyfish.metaphone(v) if v else "")
    keys = (
        list(cols["domain"]),
        list(cols["phone"]),
        [v.replace(" ", "")[:8] for v in cols["name"]],
        [metaphone(v) for v in cols["name"]],
    )
    found = []
    for column in keys:
        key = codes(column)
        key[np.asarray(column, dtype=object) == ""] = -1
        for chunk in _window_pairs(key, rank, max_block, window):
            lo, hi = np.minimum(chunk[:, 0], chunk[:, 1]), np.maximum(chunk[:, 0], chunk[:, 1])
            found.append(lo * n + hi)
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    flat = _distinct(np.concatenate(found))
    pairs = np.stack([flat // n, flat % n], axis=1)
    return pairs[pairs[:, 0] != pairs[:, 1]]


def link_companies(records: Sequence[Record]) -> Result:
    """Block, compare, fit and score companies."""
    cols = columns(records) if records else {f.name: np.empty(0, object) for f in COMPANY_FIELDS}
    pairs = company_pairs(cols)
    vectors = compare(cols, pairs, COMPANY_FIELDS)
    model = fit(vectors, COMPANY_FIELDS)
    return Result(pairs, vectors, score(model, vectors), model)
