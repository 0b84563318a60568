"""Predictive lead scoring: a logistic regression trained on the workspace's own won/lost
history, next to (never instead of) the transparent rules.

- **Samples**: people linked to closed deals; label 1 if any of their deals was won. Features
  are taken *as of the close* (activities after it are ignored), so the model learns what a
  winner looked like before the outcome, not what a customer looks like after it.
- **Features**: fit (seniority keywords of the job title, company size and its band,
  industry, lead source, custom fields) and engagement (counts by activity kind and
  kind/channel, the same counts decayed by recency, inbound replies, pricing/demo page
  visits, form fills, days since the last touch). The lifecycle stage is left out on
  purpose: for a closed deal it records the outcome (won -> customer) and would leak it.
- **Quality**: the AUC of the model on a stratified held-out quarter, and the AUC of the rule
  score on the same people, so a user sees which one ranks better.
- **Storage**: feature names, scaling and coefficients as JSON numbers in ``scoring_models``;
  scoring a person is a dot product, and loading a model cannot execute anything.
- **Fallback**: fewer than ``MIN_CLOSED_DEALS`` closed deals or ``MIN_PER_CLASS`` people on
  either side means no model; the stored row says why and the rules stand alone.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.events import record
from rapport.hub.models import Activity, Company, Person
from rapport.sales.events import SCORING_MODEL_TRAINED
from rapport.sales.models import Deal, DealStatus, ScoringModel
from rapport.sales.service import scoring

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# scikit-learn is imported only where a model is trained (it doubles the app's start-up time);
# scoring a person needs nothing but the JSON numbers and numpy.

ALGORITHM = "logistic_regression/v1"
MIN_CLOSED_DEALS = 30
MIN_PER_CLASS = 5
TEST_SHARE = 0.25
SEED = 20261123  # the split is reproducible: the same history gives the same AUC
HALF_LIFE_DAYS = 30.0
CHUNK = 500  # person ids per IN (...) query
TOP_IMPORTANCES = 20
SENIORITY = (  # first match wins; checked on whole words of the lower-cased title
    ("c_level", ("chief", "ceo", "cto", "cfo", "coo", "cmo", "cio", "founder", "president")),
    ("vp", ("vp", "vice", "svp", "evp")),
    ("director", ("director", "head")),
    ("manager", ("manager", "lead", "principal")),
)
SIZE_BANDS = ((1, 10), (11, 50), (51, 200), (201, 1000), (1001, 5000), (5001, None))
# A value far outside what training saw (a lead with no activity at all, when every closed
# deal had some) counts as at most this many standard deviations, not as a certainty.
Z_CLIP = 5.0
HOT_PAGES = ("pricing", "demo", "trial", "quote")
FORM_SOURCES = ("lead_form", "lead_api", "lead_import")


@dataclass
class History:
    """Labelled people: who closed, won or lost, and when (the features' point in time)."""

    person_ids: list[uuid.UUID]
    labels: list[int]
    as_of: dict[uuid.UUID, datetime]
    closed_deals: int


# --- features -------------------------------------------------------------------------------


def seniority(job_title: str | None) -> str:
    """The seniority level a job title suggests (``none`` without a title)."""
    if not job_title:
        return "none"
    words = set("".join(c if c.isalnum() else " " for c in job_title.lower()).split())
    for level, keys in SENIORITY:
        if words & set(keys):
            return level
    return "individual"


def size_band(size: int | None) -> str:
    if size is None or size <= 0:
        return "unknown"
    for low, high in SIZE_BANDS:
        if high is None or size <= high:
            return f"{low}+" if high is None else f"{low}-{high}"
    return "unknown"  # pragma: no cover - the last band is open


def features(
    ctx: Context, person_ids: Sequence[uuid.UUID], as_of: Mapping[uuid.UUID, datetime] | datetime
) -> list[dict[str, float]]:
    """One feature dict per person, in order. ``as_of`` is one instant for everybody (scoring
    now) or one per person (training: the moment their deal closed)."""
    out: dict[uuid.UUID, dict[str, float]] = {}
    at = (lambda pid: as_of) if isinstance(as_of, datetime) else as_of.__getitem__
    for chunk in _chunks(person_ids):
        rows = ctx.session.execute(
            select(
                Person.id, Person.job_title, Person.source, Person.custom,
                Company.size, Company.industry,
            )
            .outerjoin(Company, Company.id == Person.company_id)
            .where(Person.id.in_(chunk))
        ).all()  # fmt: skip
        for pid, title, source, custom, size, industry in rows:
            out[pid] = _fit(title, source, custom or {}, size, industry)
        _engagement(ctx, chunk, at, out)
    return [out.get(pid, {}) for pid in person_ids]


def _fit(
    title: str | None, source: str | None, custom: dict[str, Any], size: int | None,
    industry: str | None,
) -> dict[str, float]:  # fmt: skip
    f: dict[str, float] = {
        f"seniority={seniority(title)}": 1.0,
        f"size_band={size_band(size)}": 1.0,
        "company_size_log": math.log1p(size) if size and size > 0 else 0.0,
        f"industry={(industry or 'unknown').strip().lower()[:50]}": 1.0,
        f"source={(source or 'unknown').strip().lower()[:50]}": 1.0,
    }
    for key, value in custom.items():
        if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
            f[f"custom.{key}"] = float(value)
        elif isinstance(value, str) and value and len(value) <= 50:
            f[f"custom.{key}={value.strip().lower()}"] = 1.0
    return f


def _engagement(
    ctx: Context, chunk: Sequence[uuid.UUID], at: Any, out: dict[uuid.UUID, dict[str, float]]
) -> None:
    query = select(
        Activity.person_id, Activity.kind, Activity.channel, Activity.direction,
        Activity.occurred_at, Activity.subject, Activity.source,
    ).where(Activity.person_id.in_(chunk))  # fmt: skip
    last: dict[uuid.UUID, float] = {}
    for pid, kind, channel, direction, occurred_at, subject, source in ctx.session.execute(query):
        if pid not in out:
            continue
        ref: datetime = at(pid)
        if occurred_at > ref:
            continue  # after the outcome (training) or in the future: not known at the time
        age = (ref - occurred_at).total_seconds() / 86400
        weight = 0.5 ** (age / HALF_LIFE_DAYS)
        f = out[pid]
        for name, value in (
            (f"count.{kind}", 1.0), (f"count.{kind}.{channel}", 1.0), (f"recent.{kind}", weight),
        ):  # fmt: skip
            f[name] = f.get(name, 0.0) + value
        if direction == "inbound":
            f["count.inbound"] = f.get("count.inbound", 0.0) + 1.0
        text = (subject or "").lower()
        if kind == "visit" and any(page in text for page in HOT_PAGES):
            f["visits.hot_pages"] = f.get("visits.hot_pages", 0.0) + 1.0
            f["recent.hot_pages"] = f.get("recent.hot_pages", 0.0) + weight
        if source in FORM_SOURCES:
            f["form_fills"] = f.get("form_fills", 0.0) + 1.0
        last[pid] = min(last.get(pid, math.inf), age)
    for pid, f in out.items():
        for name in [n for n in f if n.startswith("count.") or n in ("visits.hot_pages",)]:
            f[name] = math.log1p(f[name])  # the 50th email says less than the 2nd
        f["days_since_last_touch"] = min(last.get(pid, 365.0), 365.0)


def _chunks(ids: Sequence[uuid.UUID]) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# --- history and training -------------------------------------------------------------------


def history(ctx: Context) -> History:
    """People linked to closed deals, labelled won (any won deal) or lost, with the moment of
    their latest close as the features' point in time."""
    rows = ctx.session.execute(
        select(Deal.person_id, Deal.status, Deal.closed_at, Deal.updated_at).where(
            Deal.person_id.is_not(None), Deal.status.in_([DealStatus.WON, DealStatus.LOST])
        )
    ).all()
    labels: dict[uuid.UUID, int] = {}
    as_of: dict[uuid.UUID, datetime] = {}
    for person_id, status, closed_at, updated_at in rows:
        assert person_id is not None  # filtered in the query
        labels[person_id] = max(labels.get(person_id, 0), int(status == DealStatus.WON))
        moment = closed_at or updated_at
        as_of[person_id] = max(as_of.get(person_id, moment), moment)
    ids = sorted(labels)
    return History(ids, [labels[i] for i in ids], as_of, len(rows))


def train(ctx: Context) -> ScoringModel:
    """Train (or, on too little history, record the fallback) and keep it as the workspace's
    model, replacing the previous one."""
    ctx.require("scoring:write")
    data = history(ctx)
    won = sum(data.labels)
    lost = len(data.labels) - won
    model = current(ctx) or ScoringModel(workspace_id=ctx.workspace_id)
    model.algorithm, model.trained_at, model.trained_by = ALGORITHM, utcnow(), ctx.user_id
    model.closed_deals, model.won, model.lost = data.closed_deals, won, lost
    reason = _too_little(data.closed_deals, won, lost)
    if reason:
        model.status, model.reason, model.params, model.importances = "fallback", reason, {}, []
        model.auc = model.rules_auc = None
        model.train_size = model.test_size = 0
    else:
        _fit_model(ctx, model, data)
    if model.id is None:
        ctx.session.add(model)
    ctx.session.flush()
    record(
        ctx, SCORING_MODEL_TRAINED, model.id,
        {"status": (None, model.status), "auc": (None, model.auc)},
    )  # fmt: skip
    return model


def _too_little(closed: int, won: int, lost: int) -> str | None:
    if closed < MIN_CLOSED_DEALS:
        return (
            f"Only {closed} closed deals linked to people ({MIN_CLOSED_DEALS} needed); "
            "scores come from the rules alone"
        )
    if min(won, lost) < MIN_PER_CLASS:
        return (
            f"{won} people won and {lost} lost; at least {MIN_PER_CLASS} of each are needed, "
            "so scores come from the rules alone"
        )
    return None


def _pipeline() -> Pipeline:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [
            ("vectorise", DictVectorizer(sparse=False)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000)),
        ]
    )


def _fit_model(ctx: Context, model: ScoringModel, data: History) -> None:
    """Held-out AUC of the model and of the rules on the same people, then the model refit on
    the whole history and exported as JSON numbers."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    x = features(ctx, data.person_ids, data.as_of)
    y = np.array(data.labels)
    idx = np.arange(len(y))
    train_idx, test_idx = train_test_split(idx, test_size=TEST_SHARE, stratify=y, random_state=SEED)
    held_out = _pipeline().fit([x[i] for i in train_idx], y[train_idx])
    probabilities = held_out.predict_proba([x[i] for i in test_idx])[:, 1]
    scored = scoring.score_many(ctx, [data.person_ids[i] for i in test_idx])
    rule_scores = [scored[data.person_ids[i]].score for i in test_idx]
    model.auc = round(float(roc_auc_score(y[test_idx], probabilities)), 4)
    model.rules_auc = round(float(roc_auc_score(y[test_idx], rule_scores)), 4)
    model.train_size, model.test_size = len(train_idx), len(test_idx)
    model.params = export(_pipeline().fit(x, y))
    model.importances = importances(model.params)
    model.status, model.reason = "trained", None


def export(pipeline: Pipeline) -> dict[str, Any]:
    """A fitted pipeline as plain JSON numbers (what ``predict`` needs, nothing else)."""
    vectoriser = pipeline.named_steps["vectorise"]
    scaler = pipeline.named_steps["scale"]
    regression = pipeline.named_steps["model"]
    return {
        "features": [str(n) for n in vectoriser.get_feature_names_out()],
        "mean": [float(v) for v in scaler.mean_],
        "scale": [float(v) for v in scaler.scale_],
        "coef": [float(v) for v in regression.coef_[0]],
        "intercept": float(regression.intercept_[0]),
    }


def importances(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The strongest standardised coefficients: positive raises the odds of winning."""
    pairs = sorted(zip(params["features"], params["coef"], strict=True), key=lambda p: -abs(p[1]))
    return [{"feature": n, "weight": round(w, 4)} for n, w in pairs[:TOP_IMPORTANCES] if w]


# --- using a model --------------------------------------------------------------------------


def current(ctx: Context) -> ScoringModel | None:
    """The workspace's model row (trained or fallback), if it ever trained."""
    return ctx.session.scalars(select(ScoringModel)).first()


def get_model(ctx: Context) -> ScoringModel | None:
    """:func:`current` for readers."""
    ctx.require("people:read")
    return current(ctx)


def predict(params: Mapping[str, Any], rows: Sequence[Mapping[str, float]]) -> list[float]:
    """Win probabilities from the JSON parameters; features unseen in training count 0."""
    if not rows:
        return []
    index = {name: i for i, name in enumerate(params["features"])}
    matrix = np.zeros((len(rows), len(index)))
    for r, row in enumerate(rows):
        for name, value in row.items():
            if name in index:
                matrix[r, index[name]] = value
    z = np.clip((matrix - np.array(params["mean"])) / np.array(params["scale"]), -Z_CLIP, Z_CLIP)
    logits = z @ np.array(params["coef"]) + params["intercept"]
    return [float(p) for p in 1.0 / (1.0 + np.exp(-logits))]


def factors(
    params: Mapping[str, Any], row: Mapping[str, float], top: int = 3
) -> list[dict[str, Any]]:
    """What pushed one person's probability most, up or down (coefficient x standardised
    value), so the predictive score comes with reasons too."""
    out = []
    for i, name in enumerate(params["features"]):
        z = (row.get(name, 0.0) - params["mean"][i]) / params["scale"][i]
        z = max(-Z_CLIP, min(Z_CLIP, z))
        contribution = z * params["coef"][i]
        if abs(contribution) >= 0.05:
            out.append({"feature": name, "weight": round(contribution, 3)})
    return sorted(out, key=lambda f: -abs(f["weight"]))[:top]


def probabilities(
    ctx: Context, person_ids: Sequence[uuid.UUID], model: ScoringModel | None = None
) -> dict[uuid.UUID, tuple[float, list[dict[str, Any]]]]:
    """Now-probabilities and top factors of many people under the workspace's model (empty
    when there is no trained model)."""
    model = model or current(ctx)
    if model is None or model.status != "trained" or not person_ids:
        return {}
    rows = features(ctx, person_ids, utcnow())
    probs = predict(model.params, rows)
    return {
        pid: (round(p, 4), factors(model.params, row))
        for pid, p, row in zip(person_ids, probs, rows, strict=True)
    }


def label(feature: str) -> str:
    """A feature name in words, for the reasons shown to users."""
    name, _, value = feature.partition("=")
    words = {
        "seniority": "Seniority", "size_band": "Company size", "industry": "Industry",
        "source": "Source", "company_size_log": "Company size", "form_fills": "Form fills",
        "visits.hot_pages": "Pricing/demo page visits", "recent.hot_pages": "Recent pricing visits",
        "days_since_last_touch": "Days since last touch", "count.inbound": "Inbound messages",
    }  # fmt: skip
    if name in words:
        return f"{words[name]}: {value}" if value else words[name]
    if name.startswith("count."):
        return "Number of " + name.removeprefix("count.").replace(".", " by ") + "s"
    if name.startswith("recent."):
        return "Recent " + name.removeprefix("recent.") + "s"
    if name.startswith("custom."):
        return name.removeprefix("custom.") + (f": {value}" if value else "")
    return feature
