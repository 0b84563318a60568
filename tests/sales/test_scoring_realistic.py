"""Lead scoring on a realistic history (issue 15, "right on real data"): 18 months of B2B
leads generated from a fixed seed (``realdata/make_leads.py``), loaded through the services
at their real dates, trained time-correctly on what was known after 15 months and measured
on the leads of the last three - against rules derived from the same training period.

Also: the same history loaded the careless way (a field that records the outcome) trips the
leakage guard, while the honest load leaves it silent."""

from __future__ import annotations

import pytest

from rapport.core.context import Context
from rapport.sales.service import predictive, scoring_live
from tests.sales.realdata.make_leads import (
    CUTOFF,
    later_aucs,
    later_period,
    load,
    make_leads,
    rules_from_the_data,
)

# Measured on this seed: predictive 0.708, rules from the data 0.639 on the later period
# (the buying intent shows only noisily, as in real data); the floor leaves a margin for
# library versions, not for a regression.
PREDICTIVE_FLOOR = 0.68
MARGIN_OVER_RULES = 0.05


def test_predictive_beats_rules_from_the_data_on_the_later_period(ada_ctx: Context) -> None:
    leads = make_leads()
    load(ada_ctx, leads)
    rules = rules_from_the_data(ada_ctx)
    print("suggested rules:", rules)
    # The suggested rules found the real signals of the training period.
    names = " ".join(rules)
    for signal in ("form_submitted", "webinar_attended", "1-10"):
        assert signal in names, rules

    model = predictive.train(ada_ctx, as_of=CUTOFF)

    assert model.status == "trained", model.reason
    assert predictive.warnings(model) == [], predictive.warnings(model)  # an honest load
    assert model.params["as_of"] == CUTOFF.isoformat()
    assert model.auc is not None and 0.6 < model.auc < predictive.IMPLAUSIBLE_AUC
    later = later_period(ada_ctx)
    assert len(later.labels) >= 300 and sum(later.labels) >= 20, (len(later.labels), later)
    predictive_auc, rules_auc = later_aucs(ada_ctx, later)
    print(f"later period: predictive AUC {predictive_auc:.3f}, rules AUC {rules_auc:.3f}")
    assert predictive_auc >= rules_auc + MARGIN_OVER_RULES, (predictive_auc, rules_auc)
    assert predictive_auc >= PREDICTIVE_FLOOR, predictive_auc
    importances = {f["feature"] for f in model.importances}
    assert any(name.startswith("country=") for name in importances), model.importances


def test_a_leaky_load_trips_the_guard(ada_ctx: Context) -> None:
    """The same history with each buyer's source overwritten to "Existing customer" (as a
    careless export does): the later-period AUC is implausible and the model says so."""
    leads = make_leads(n=1200)
    ids = load(ada_ctx, leads, leaky=True)
    model = predictive.train(ada_ctx, as_of=CUTOFF)
    assert model.status == "trained", model.reason
    assert model.auc is not None and model.auc > predictive.IMPLAUSIBLE_AUC, model.auc
    found = predictive.warnings(model)
    assert found and "implausibly high" in found[0], found
    # Each person's score carries the warning too (the API's model_warnings).
    shown = scoring_live.person_score(ada_ctx, ids[leads[0].key])
    assert shown.model_warnings == found


@pytest.mark.parametrize(
    ("in_period", "later", "expected"),
    [(0.80, 0.78, []), (0.97, 0.96, ["implausibly high"]), (0.90, 0.70, ["falls from"]),
     (None, 0.80, [])],
)  # fmt: skip
def test_leakage_guard_thresholds(
    in_period: float | None, later: float, expected: list[str]
) -> None:
    found = predictive.leakage_warnings(in_period, later)
    assert len(found) == len(expected) and all(
        e in w for e, w in zip(expected, found, strict=True)
    ), found
