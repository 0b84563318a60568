"""Predictive lead scoring: a logistic regression trained on the workspace's own history of
leads and what became of them, next to (never instead of) the transparent rules.

- **Examples, time-correct**: every person is an example *as of* their creation date plus
  ``OBSERVATION_DAYS`` (what a sales team knows about a lead after its first two weeks).
  Features use only what happened strictly before that instant; the label is 1 when one of
  their deals was won within ``HORIZON_DAYS`` after it, else 0 - leads that never got a deal
  are negatives too. Examples whose horizon has not passed by the training's ``as_of`` are
  left out (their outcome is not known yet), and so are people already won before their
  as-of instant (nothing left to predict).
- **Split by time**: the examples with the latest as-of instants (the last ``TEST_SHARE``)
  are the later period; the model is fitted on the earlier ones whose horizon closed before
  that period began, and its reported quality (``auc``) is its AUC on the later period, next
  to the rules' AUC on the same people as of the same instants.
- **Leakage guard**: a random in-period check (a held-out part of the earlier examples) is
  measured too; a later-period AUC above ``IMPLAUSIBLE_AUC``, or a fall of more than
  ``MAX_DROP`` from the in-period check to the later period, is stored with the model as a
  warning that the API and the leads page show. Both say a feature knows the outcome - a
  field exported from another CRM after the deal closed, history loaded without its dates.
- **Features**: fit (seniority keywords of the job title, company size and band, industry,
  lead source, country, custom fields) and engagement (counts by activity kind and
  kind/channel, the same counts decayed by recency relative to the as-of instant, inbound
  replies, pricing/demo page visits, form fills, days since the last touch). The lifecycle
  stage is left out on purpose: it records the outcome (won -> customer).
- **Storage**: feature names, scaling and coefficients as JSON numbers in ``scoring_models``
  (with the quality figures and warnings); scoring a person is a dot product, and loading a
  model cannot execute anything.
- **Fallback**: fewer than ``MIN_EXAMPLES`` examples or ``MIN_PER_CLASS`` on either side
  means no model; the stored row says why and the rules stand alone.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.errors import invalid
from rapport.core.events import record
from rapport.hub.models import Activity, ActivityKind, Company, Person
from rapport.sales.events import SCORING_MODEL_TRAINED
from rapport.sales.models import Deal, DealStatus, ScoringModel
from rapport.sales.schemas import RuleIn
from rapport.sales.service import scoring

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# scikit-learn is imported only where a model is trained (it doubles the app's start-up time);
# scoring a person needs nothing but the JSON numbers and numpy.

ALGORITHM = "logistic_regression/v2-time-split"
MIN_EXAMPLES = 30
MIN_PER_CLASS = 5
OBSERVATION_DAYS = 14  # an example is a lead as of this long after it was created
HORIZON_DAYS = 90  # ... labelled by a deal won within this long after that
IMPLAUSIBLE_AUC = 0.95  # above this on later data, a feature knows the outcome
MAX_DROP = 0.10  # in-period AUC minus later-period AUC beyond this: a leak or a shift
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
PAGE_KINDS = (ActivityKind.VISIT, ActivityKind.PAGE_VISITED)
# Suggested rules: a signal is suggested when this many examples show it, worth
# POINTS_PER_DOUBLING points for each doubling of the conversion rate it comes with.
MIN_SUPPORT = 20
POINTS_PER_DOUBLING = 10
MAX_RULE_POINTS = 25


@dataclass
class Examples:
    """Labelled leads, each with its own as-of instant (the features' point in time)."""

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
                Person.id, Person.job_title, Person.source, Person.custom, Person.addresses,
                Company.size, Company.industry,
            )
            .outerjoin(Company, Company.id == Person.company_id)
            .where(Person.id.in_(chunk))
        ).all()  # fmt: skip
        for pid, title, source, custom, addresses, size, industry in rows:
            out[pid] = _fit(title, source, custom or {}, size, industry)
            out[pid][f"country={country(addresses)}"] = 1.0
        _engagement(ctx, chunk, at, out)
    return [out.get(pid, {}) for pid in person_ids]


def country(addresses: Sequence[Any] | None) -> str:
    """The country of a person's first address that names one (``unknown`` otherwise)."""
    for address in addresses or ():
        if isinstance(address, dict) and address.get("country"):
            return str(address["country"]).strip().upper()[:60]
    return "unknown"


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
        if occurred_at >= ref:
            continue  # not strictly before the as-of instant: not known at the time
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
        if kind in PAGE_KINDS and any(page in text for page in HOT_PAGES):
            f["visits.hot_pages"] = f.get("visits.hot_pages", 0.0) + 1.0
            f["recent.hot_pages"] = f.get("recent.hot_pages", 0.0) + weight
        if source in FORM_SOURCES or kind == ActivityKind.FORM_SUBMITTED:
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


def examples(
    ctx: Context,
    as_of: datetime,
    *,
    observation_days: float = OBSERVATION_DAYS,
    horizon_days: float = HORIZON_DAYS,
) -> Examples:
    """Every lead whose outcome is known by ``as_of``: as of its creation plus the
    observation window, labelled by a deal won within the horizon after that. Leads created
    too recently (their horizon has not passed) and leads already won before their as-of
    instant are left out."""
    observe, horizon = timedelta(days=observation_days), timedelta(days=horizon_days)
    created = ctx.session.execute(
        select(Person.id, Person.created_at).where(Person.created_at <= as_of - horizon - observe)
    ).all()
    wins: dict[uuid.UUID, list[datetime]] = {}
    closed_deals = 0
    for person_id, status, closed_at in ctx.session.execute(
        select(Deal.person_id, Deal.status, Deal.closed_at).where(
            Deal.status.in_([DealStatus.WON, DealStatus.LOST]),
            Deal.closed_at.is_not(None),
            Deal.closed_at <= as_of,
        )
    ):
        closed_deals += 1
        if person_id is not None and closed_at is not None and status == DealStatus.WON:
            wins.setdefault(person_id, []).append(closed_at)
    moments: dict[uuid.UUID, datetime] = {}
    labels: dict[uuid.UUID, int] = {}
    for person_id, created_at in created:
        moment = created_at + observe
        won = wins.get(person_id, [])
        if any(w < moment for w in won):
            continue  # already a customer when the example is taken
        moments[person_id] = moment
        labels[person_id] = int(any(w < moment + horizon for w in won))
    ids = sorted(moments, key=lambda pid: (moments[pid], pid))
    return Examples(ids, [labels[i] for i in ids], moments, closed_deals)


def train(
    ctx: Context,
    *,
    as_of: datetime | None = None,
    observation_days: float = OBSERVATION_DAYS,
    horizon_days: float = HORIZON_DAYS,
) -> ScoringModel:
    """Train on what was known by ``as_of`` (default now) - or, on too little history, record
    the fallback - and keep it as the workspace's model, replacing the previous one."""
    ctx.require("scoring:write")
    now = utcnow()
    as_of = as_of or now
    if as_of.tzinfo is None:
        raise invalid(("as_of",), "give a time zone (e.g. 2026-03-01T00:00:00Z)", "naive-datetime")
    if as_of > now:
        raise invalid(("as_of",), "cannot be in the future", "in-the-future")
    data = examples(ctx, as_of, observation_days=observation_days, horizon_days=horizon_days)
    won = sum(data.labels)
    lost = len(data.labels) - won
    model = current(ctx) or ScoringModel(workspace_id=ctx.workspace_id)
    model.algorithm, model.trained_at, model.trained_by = ALGORITHM, now, ctx.user_id
    model.closed_deals, model.won, model.lost = data.closed_deals, won, lost
    window = {"as_of": as_of.isoformat(), "observation_days": observation_days,
              "horizon_days": horizon_days}  # fmt: skip
    reason = _too_little(len(data.labels), won, lost, horizon_days)
    if not reason:
        reason = _fit_model(ctx, model, data, timedelta(days=horizon_days))
    if reason:
        model.status, model.reason, model.params, model.importances = "fallback", reason, {}, []
        model.auc = model.rules_auc = None
        model.train_size = model.test_size = 0
    model.params = {**model.params, **window}
    if model.id is None:
        ctx.session.add(model)
    ctx.session.flush()
    record(
        ctx, SCORING_MODEL_TRAINED, model.id,
        {"status": (None, model.status), "auc": (None, model.auc),
         "warnings": (None, warnings(model) or None)},
    )  # fmt: skip
    return model


def _too_little(examples: int, won: int, lost: int, horizon_days: float) -> str | None:
    if examples < MIN_EXAMPLES:
        return (
            f"Only {examples} leads with a known outcome ({MIN_EXAMPLES} needed: leads created "
            f"at least {OBSERVATION_DAYS} + {horizon_days:g} days before the as-of date); "
            "scores come from the rules alone"
        )
    if min(won, lost) < MIN_PER_CLASS:
        return (
            f"{won} leads converted and {lost} did not; at least {MIN_PER_CLASS} of each are "
            "needed, so scores come from the rules alone"
        )
    return None


def leakage_warnings(in_period_auc: float | None, later_auc: float) -> list[str]:
    """What the guard says about a model's quality figures (empty when they are plausible)."""
    found = []
    if later_auc > IMPLAUSIBLE_AUC:
        found.append(
            f"Later-period AUC {later_auc:.3f} is implausibly high (above {IMPLAUSIBLE_AUC}): "
            "a feature probably records the outcome (a field set after the deal closed, or "
            "history loaded without its real dates). Check before trusting these scores."
        )
    if in_period_auc is not None and in_period_auc - later_auc > MAX_DROP:
        found.append(
            f"AUC falls from {in_period_auc:.3f} within the training period to "
            f"{later_auc:.3f} on later leads: the model leans on something that does not "
            "carry forward (a leak in the older history, or a change in who the leads are)."
        )
    return found


def quality(model: ScoringModel) -> dict[str, Any]:
    """The figures stored with a model beyond its columns: the in-period check, the guard's
    warnings and the time window it was trained on."""
    params = model.params or {}
    as_of = params.get("as_of")
    return {
        "in_period_auc": params.get("in_period_auc"),
        "warnings": warnings(model),
        "as_of": datetime.fromisoformat(as_of) if as_of else None,
        "observation_days": params.get("observation_days"),
        "horizon_days": params.get("horizon_days"),
    }


def warnings(model: ScoringModel) -> list[str]:
    """The leakage guard's warnings stored with a model."""
    return [str(w) for w in (model.params or {}).get("warnings", [])]


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


def time_split(data: Examples, horizon: timedelta) -> tuple[list[int], list[int]]:
    """Indexes of the earlier examples (whose horizon closed before the later period began)
    and of the later period (the last ``TEST_SHARE`` of examples by as-of instant)."""
    n_test = max(1, round(len(data.person_ids) * TEST_SHARE))
    test = list(range(len(data.person_ids) - n_test, len(data.person_ids)))
    start = data.as_of[data.person_ids[test[0]]]
    train = [
        i for i in range(len(data.person_ids) - n_test)
        if data.as_of[data.person_ids[i]] + horizon <= start
    ]  # fmt: skip
    return train, test


def _fit_model(ctx: Context, model: ScoringModel, data: Examples, horizon: timedelta) -> str | None:
    """The model's AUC on the later period and the rules' on the same leads (the quality
    reported), an in-period check for the leakage guard, then the model refit on every
    example and exported as JSON numbers. A reason when the split leaves too little."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    x = features(ctx, data.person_ids, data.as_of)
    y = np.array(data.labels)
    train_idx, test_idx = time_split(data, horizon)
    if len(train_idx) < MIN_EXAMPLES or min(y[train_idx].sum(), (1 - y[train_idx]).sum()) < 2:
        return (
            f"Only {len(train_idx)} leads settled before the later period began; more history "
            "is needed for a time-correct check, so scores come from the rules alone"
        )
    if len(set(y[test_idx])) < 2:
        return "The later period has leads of one outcome only; scores come from the rules alone"
    held_out = _pipeline().fit([x[i] for i in train_idx], y[train_idx])
    probabilities = held_out.predict_proba([x[i] for i in test_idx])[:, 1]
    test_ids = [data.person_ids[i] for i in test_idx]
    scored = scoring.score_many(ctx, test_ids, as_of={pid: data.as_of[pid] for pid in test_ids})
    later_auc = round(float(roc_auc_score(y[test_idx], probabilities)), 4)
    model.auc = later_auc
    rule_scores = [scored[pid].score for pid in test_ids]
    model.rules_auc = round(float(roc_auc_score(y[test_idx], rule_scores)), 4)
    in_period_auc = None
    y_train = y[train_idx]
    if min(int(y_train.sum()), int((1 - y_train).sum())) >= 2 * MIN_PER_CLASS:
        fit_idx, check_idx = train_test_split(
            train_idx, test_size=TEST_SHARE, stratify=y_train, random_state=SEED
        )
        check = _pipeline().fit([x[i] for i in fit_idx], y[fit_idx])
        in_period = check.predict_proba([x[i] for i in check_idx])[:, 1]
        in_period_auc = round(float(roc_auc_score(y[check_idx], in_period)), 4)
    model.train_size, model.test_size = len(train_idx), len(test_idx)
    model.params = export(_pipeline().fit(x, y))
    model.params["in_period_auc"] = in_period_auc
    model.params["later_period_from"] = data.as_of[test_ids[0]].isoformat()
    model.params["warnings"] = leakage_warnings(in_period_auc, later_auc)
    model.importances = importances(model.params)
    model.status, model.reason = "trained", None
    return None


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


# --- rules from the data ------------------------------------------------------------------


def suggested_rules(ctx: Context, as_of: datetime | None = None) -> list[RuleIn]:
    """Scoring rules derived from the workspace's own history known by ``as_of``: each
    activity kind, industry and company-size band is worth points by its *lift* on conversion
    (the conversion rate of the examples that show it over the base rate), ``10 * log2(lift)``
    points, capped at +-``MAX_RULE_POINTS``; signals seen on fewer than ``MIN_SUPPORT``
    examples or worth under 2 points are left out. An engagement kind's points count per
    activity (decaying with a 30-day half-life), capped at three activities' worth."""
    ctx.require("people:read")
    data = examples(ctx, as_of or utcnow())
    if not data.labels or not 0 < sum(data.labels) < len(data.labels):
        return []
    base = sum(data.labels) / len(data.labels)
    label = dict(zip(data.person_ids, data.labels, strict=True))
    seen: dict[tuple[str, str], set[uuid.UUID]] = {}
    for chunk in _chunks(data.person_ids):
        for pid, kind, occurred_at in ctx.session.execute(
            select(Activity.person_id, Activity.kind, Activity.occurred_at).where(
                Activity.person_id.in_(chunk)
            )
        ):
            if pid is not None and occurred_at < data.as_of[pid]:
                seen.setdefault(("engagement", kind), set()).add(pid)
        for pid, size, industry in ctx.session.execute(
            select(Person.id, Company.size, Company.industry)
            .join(Company, Company.id == Person.company_id)
            .where(Person.id.in_(chunk))
        ):
            if industry:
                seen.setdefault(("industry_equals", industry.strip().lower()), set()).add(pid)
            if size_band(size) != "unknown":
                seen.setdefault(("company_size_between", size_band(size)), set()).add(pid)
    suggestions = []
    for (kind, value), people in sorted(seen.items()):
        if len(people) < MIN_SUPPORT:
            continue
        rate = sum(label[p] for p in people) / len(people)
        lift = max(rate, 0.5 / len(people)) / base
        points = round(
            max(-MAX_RULE_POINTS, min(MAX_RULE_POINTS, POINTS_PER_DOUBLING * math.log2(lift)))
        )
        if abs(points) < 2:
            continue
        suggestions.append(_rule_in(kind, value, points, lift))
    return suggestions


def _rule_in(kind: str, value: str, points: int, lift: float) -> RuleIn:
    name = f"{value} (lift {lift:.2f})"
    params: dict[str, Any]
    if kind == "engagement":
        params = {"kind": value, "half_life_days": HALF_LIFE_DAYS, "max_points": 3 * abs(points)}
    elif kind == "industry_equals":
        params = {"industry": value}
    else:
        low, _, high = value.partition("-")
        params = {"min": int(low.rstrip("+")), "max": int(high) if high else None}
    return RuleIn.model_validate(
        {"name": name[:200], "kind": kind, "points": points, "params": params}
    )


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
    ctx: Context,
    person_ids: Sequence[uuid.UUID],
    model: ScoringModel | None = None,
    *,
    as_of: Mapping[uuid.UUID, datetime] | datetime | None = None,
) -> dict[uuid.UUID, tuple[float, list[dict[str, Any]]]]:
    """Probabilities and top factors of many people under the workspace's model, from what
    was known by ``as_of`` (default now; one instant or one per person); empty when there is
    no trained model."""
    model = model or current(ctx)
    if model is None or model.status != "trained" or not person_ids:
        return {}
    rows = features(ctx, person_ids, as_of or utcnow())
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
        "country": "Country",
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
