"""A pure record-linkage engine: blocking, comparison vectors and a Fellegi-Sunter model fitted
by EM. It knows nothing of the database, so the Febrl benchmark and the people scan share it.

1. :func:`normalise` turns raw values into comparable strings (lower case, no punctuation,
   phone digits, canonical email).
2. :func:`candidate_pairs` unions several blocking keys (phonetic surname + initial, postcode,
   email, phone, date of birth…); a giant block is not paired all-to-all but by a sorted
   neighbourhood window, so the pair count stays near-linear.
3. :func:`compare` gives each pair one agreement level per field (0 = a value is missing,
   1 = disagree … top = exact), using Jaro-Winkler and Levenshtein from rapidfuzz.
4. :func:`fit` estimates the match prior and the m/u probability of every level by EM;
   :func:`score` turns a pair's levels into a calibrated match probability.
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
    """Emails: 1 disagree, 2 same mailbox name or a typo, 3 exact."""
    if not a or not b:
        return 0
    if a == b:
        return 3
    if a.split("@")[0] == b.split("@")[0] or JaroWinkler.similarity(a, b) >= 0.93:
        return 2
    return 1


@dataclass(frozen=True)
class Field:
    """One compared field: its name, comparator, number of levels (missing excluded) and how
    rare agreement is between different people in the starting guess (``rarity``: each level
    up is that many times less likely; identifiers such as phone or email are rare)."""

    name: str
    compare: Comparator
    levels: int
    rarity: float = 2.0


PEOPLE_FIELDS = (
    Field("given_name", name_level, 4),
    Field("surname", name_level, 4),
    Field("email", email_level, 3, rarity=8.0),
    Field("phone", code_level, 3, rarity=8.0),
    Field("street", text_level, 4),
    Field("city", name_level, 4),
    Field("postcode", code_level, 3),
    Field("state", exact_level, 2),
    Field("date_of_birth", code_level, 3, rarity=8.0),
    Field("domain", exact_level, 2),
)
FIELDS = tuple(f.name for f in PEOPLE_FIELDS)


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
    mailbox = codes([v.split("@")[0] for v in col.by_code])[col.code]
    close = _similarity(col, i, j, JaroWinkler.similarity, 0.93) >= 0.93
    return np.where(close | (mailbox[i] == mailbox[j]), 2, 1)


VECTORISED: dict[Comparator, Callable[[Column, Any, Any], Any]] = {
    name_level: _name_levels,
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
        col = Column.of(cols[spec.name])
        blank = col.values == ""
        missing = blank[i] | blank[j]
        exact = (col.code[i] == col.code[j]) & ~missing
        rest = np.flatnonzero(~missing & ~exact)
        out[exact, k] = spec.levels
        vectorised = VECTORISED.get(spec.compare)
        if vectorised is not None:
            out[rest, k] = vectorised(col, i[rest], j[rest])
        else:
            cmp = spec.compare
            a, b = col.values[i[rest]], col.values[j[rest]]
            out[rest, k] = [cmp(x, y) for x, y in zip(a, b, strict=True)]
    return out


# -- the Fellegi-Sunter model ----------------------------------------------------------------


@dataclass
class Model:
    """Fitted m (P(level | match)) and u (P(level | non-match)) per field, and the prior."""

    fields: tuple[str, ...]
    m: list[NDArray[np.float64]]
    u: list[NDArray[np.float64]]
    prior: float
    iterations: int = 0
    history: list[float] = field(default_factory=list)

    def weights(self) -> list[NDArray[np.float64]]:
        """log2(m/u) per level; level 0 (missing) weighs nothing."""
        return [
            np.concatenate([[0.0], np.log2(m[1:] / u[1:])])
            for m, u in zip(self.m, self.u, strict=True)
        ]


def _init(
    fields: Sequence[Field],
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    """Start with matches mostly agreeing and non-matches mostly disagreeing."""
    m, u = [], []
    for spec in fields:
        ramp = np.arange(1, spec.levels + 1, dtype=np.float64)
        m.append(np.concatenate([[1.0], 2.0**ramp / (2.0**ramp).sum()]))
        rare = spec.rarity**-ramp
        u.append(np.concatenate([[1.0], rare / rare.sum()]))
    return m, u


def prior_model(fields: Sequence[Field] = PEOPLE_FIELDS, prior: float = 0.1) -> Model:
    """The starting guess as a model: for scoring a handful of pairs with nothing to fit."""
    m, u = _init(fields)
    return Model(tuple(f.name for f in fields), m, u, prior)


def _log_likelihoods(
    patterns: NDArray[np.int8], m: list[NDArray[np.float64]], u: list[NDArray[np.float64]]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lm = np.zeros(len(patterns))
    lu = np.zeros(len(patterns))
    for k in range(patterns.shape[1]):
        lm += np.log(m[k][patterns[:, k]])
        lu += np.log(u[k][patterns[:, k]])
    return lm, lu


def fit(
    vectors: NDArray[np.int8],
    fields: Sequence[Field] = PEOPLE_FIELDS,
    *,
    prior: float = 0.1,
    max_iter: int = 200,
    tol: float = 1e-6,
    strength: float = 20.0,
) -> Model:
    """Fit the Fellegi-Sunter m/u probabilities and match prior by EM (on distinct patterns,
    weighted by their counts, so a million pairs cost no more than a few thousand).

    ``strength`` pseudo-pairs drawn from the starting guess are added to each estimate (a
    Dirichlet prior, and a Beta prior on the match rate): a small workspace with a handful of
    pairs keeps sensible weights instead of over-fitting them, while on thousands of pairs the
    data wins."""
    levels = [f.levels for f in fields]
    m, u = _init(fields)
    m0, u0 = [x[1:] * strength for x in m], [x[1:] * strength for x in u]
    p0 = prior
    model = Model(tuple(f.name for f in fields), m, u, prior)
    if len(vectors) == 0:
        return model
    patterns, counts = _patterns(vectors, levels)
    counts = counts.astype(np.float64)
    total = counts.sum()
    for it in range(1, max_iter + 1):
        lm, lu = _log_likelihoods(patterns, m, u)
        w = 1.0 / (1.0 + np.exp(np.clip(lu - lm + np.log((1 - prior) / prior), -700, 700)))
        wm, wu = w * counts, (1.0 - w) * counts
        new_prior = float(np.clip((wm.sum() + strength * p0) / (total + strength), 1e-6, 0.5))
        for k, n in enumerate(levels):
            col = patterns[:, k]
            sm = np.bincount(col, weights=wm, minlength=n + 1)[1:] + m0[k] + 1e-9
            su = np.bincount(col, weights=wu, minlength=n + 1)[1:] + u0[k] + 1e-9
            m[k] = np.concatenate([[1.0], sm / sm.sum()])
            u[k] = np.concatenate([[1.0], su / su.sum()])
        delta, prior = abs(new_prior - prior), new_prior
        model.history.append(prior)
        model.iterations = it
        if delta < tol:
            break
    model.m, model.u, model.prior = m, u, prior
    return model


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
    levels = [len(m) - 1 for m in model.m]
    _unique, first, inverse = np.unique(
        _encode(vectors, levels), return_index=True, return_inverse=True
    )
    lm, lu = _log_likelihoods(vectors[first], model.m, model.u)
    odds = lu - lm + np.log((1 - model.prior) / model.prior)
    return (1.0 / (1.0 + np.exp(np.clip(odds, -700, 700))))[inverse.reshape(-1)]


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
