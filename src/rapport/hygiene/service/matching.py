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
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jellyfish
import numpy as np
from numpy.typing import NDArray
from rapidfuzz.distance import JaroWinkler, Levenshtein

AUTO_MERGE = 0.95
REVIEW = 0.5
Record = dict[str, str]
Comparator = Callable[[str, str], int]


def _clean(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9@. ]+", " ", text.lower())).strip()


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


# -- blocking --------------------------------------------------------------------------------


def _keys(r: Record) -> Iterable[str]:
    given, surname = r["given_name"], r["surname"]
    if surname:
        yield "s:" + jellyfish.soundex(surname) + given[:1]
    if given:
        yield "g:" + jellyfish.soundex(given) + surname[:1]
    if given and surname:  # swapped given name and surname
        yield "n:" + "|".join(sorted((jellyfish.soundex(given), jellyfish.soundex(surname))))
    for name in ("email", "phone", "date_of_birth"):
        if r[name]:
            yield f"{name[0]}:{r[name]}"
    if r["postcode"]:
        yield "p:" + r["postcode"] + r["state"]
    if r["street"] and r["city"]:
        yield "a:" + r["street"][:6] + r["city"][:4]


def candidate_pairs(
    records: Sequence[Record],
    *,
    source: Sequence[int] | None = None,
    max_block: int = 100,
    window: int = 10,
) -> NDArray[np.int64]:
    """Index pairs ``(i, j)``, ``i < j``, sharing a blocking key; with ``source``, only pairs
    from different sources (linkage). A block over ``max_block`` is paired within a sliding
    ``window`` over its records sorted by name, so one common surname cannot explode the count."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        for key in _keys(record):
            blocks[key].append(i)
    chunks: list[NDArray[np.int64]] = []
    for members in blocks.values():
        if len(members) < 2:
            continue
        if len(members) <= max_block:
            idx = np.array(members, dtype=np.int64)
            a, b = np.triu_indices(len(idx), k=1)
            chunks.append(np.stack([idx[a], idx[b]], axis=1))
        else:
            ordered = sorted(
                members, key=lambda i: (records[i]["surname"], records[i]["given_name"])
            )
            idx = np.array(ordered, dtype=np.int64)
            for step in range(1, window):
                chunks.append(np.stack([idx[:-step], idx[step:]], axis=1))
    if not chunks:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(chunks), axis=1)
    pairs = np.unique(pairs, axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if source is not None:
        src = np.asarray(source)
        pairs = pairs[src[pairs[:, 0]] != src[pairs[:, 1]]]
    return pairs


def compare(
    records: Sequence[Record], pairs: NDArray[np.int64], fields: Sequence[Field] = PEOPLE_FIELDS
) -> NDArray[np.int8]:
    """The comparison vectors: one agreement level per pair and field."""
    out = np.zeros((len(pairs), len(fields)), dtype=np.int8)
    for k, spec in enumerate(fields):
        column = [r[spec.name] for r in records]
        cmp = spec.compare
        out[:, k] = [cmp(column[i], column[j]) for i, j in pairs.tolist()]
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
    patterns, counts = np.unique(vectors, axis=0, return_counts=True)
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


def score(model: Model, vectors: NDArray[np.int8]) -> NDArray[np.float64]:
    """The posterior match probability of each comparison vector."""
    if len(vectors) == 0:
        return np.zeros(0)
    lm, lu = _log_likelihoods(vectors, model.m, model.u)
    odds = lu - lm + np.log((1 - model.prior) / model.prior)
    return 1.0 / (1.0 + np.exp(np.clip(odds, -700, 700)))


@dataclass
class Result:
    """Scored candidate pairs (indices into the input) and the fitted model."""

    pairs: NDArray[np.int64]
    vectors: NDArray[np.int8]
    probability: NDArray[np.float64]
    model: Model

    def above(self, threshold: float) -> NDArray[np.bool_]:
        """Which pairs reach ``threshold``."""
        return self.probability >= threshold


def link(
    records: Sequence[Record],
    *,
    source: Sequence[int] | None = None,
    fields: Sequence[Field] = PEOPLE_FIELDS,
    max_block: int = 100,
) -> Result:
    """Block, compare, fit and score: the whole engine on normalised records."""
    pairs = candidate_pairs(records, source=source, max_block=max_block)
    vectors = compare(records, pairs, fields)
    model = fit(vectors, fields)
    return Result(pairs, vectors, score(model, vectors), model)
