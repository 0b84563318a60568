"""Lead capture and predictive scoring at workspace scale: a CSV lead import (first run and
the idempotent rerun); then the realistic generated history (``tests/sales/realdata``:
18 months of B2B leads, engagement and back-dated deals) loaded through the services,
rules derived from its first 15 months, a time-correct training as of month 15, the AUC of
the model and of the rules on the leads of the last three months, and a rescore.

    uv run python -m bench.lead_scoring --database sqlite --history 2400 --import-rows 5000

Prints wall-clock figures and AUCs; the quality floors are asserted in
tests/sales/test_scoring_realistic.py.
"""

from __future__ import annotations

import argparse
import time

from tests.sales.realdata import make_leads as realdata

from bench.common import database_url
from rapport.accounts import service as accounts
from rapport.core import migrations
from rapport.core.context import system_context
from rapport.core.db import Database, set_database, transaction
from rapport.sales.service import leads, predictive, scoring_live


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--history", type=int, default=2400, help="generated leads (18 months)")
    parser.add_argument("--import-rows", type=int, default=5000)
    args = parser.parse_args()

    url = database_url(args.database, "rapport_bench_lead_scoring", fresh=True)
    db = Database(url)
    set_database(db)
    migrations.upgrade(db.engine)
    with transaction(unscoped=True) as session:
        ws_id = accounts.create_workspace(session, "Bench scoring").id

    csv_rows = ["email,first_name,job_title,utm_source,utm_campaign"]
    csv_rows += [f"lead{i}@bench.example.com,L{i},Director,google,c{i % 7}"
                 for i in range(args.import_rows)]  # fmt: skip
    data = "\n".join(csv_rows).encode()
    for label in ("CSV import (first run)", "CSV import (rerun, idempotent)"):
        start = time.perf_counter()
        with transaction(ws_id) as session:
            report = leads.import_csv(system_context(session, ws_id), data)
        took = time.perf_counter() - start
        print(f"{label}: {report.rows} rows in {took:.1f} s = {report.rows / took:.0f} rows/s "
              f"(created {report.created}, unchanged {report.unchanged})")  # fmt: skip

    generated = realdata.make_leads(n=args.history)
    start = time.perf_counter()
    with transaction(ws_id) as session:
        realdata.load(system_context(session, ws_id), generated)
    took = time.perf_counter() - start
    events = sum(len(lead.events) for lead in generated)
    print(f"load {len(generated)} leads and {events} events through the services: {took:.1f} s")
    with transaction(ws_id) as session:
        rules = realdata.rules_from_the_data(system_context(session, ws_id))
    print(f"rules derived from the first 15 months: {len(rules)}")
    start = time.perf_counter()
    with transaction(ws_id) as session:
        model = predictive.train(system_context(session, ws_id), as_of=realdata.CUTOFF)
        warnings = predictive.warnings(model)
    took = time.perf_counter() - start
    print(
        f"train as of month 15 ({model.train_size} earlier leads, {model.test_size} later): "
        f"{took:.1f} s; its own later-period AUC {model.auc} vs rules {model.rules_auc}; "
        f"warnings: {warnings or 'none'}"
    )
    with transaction(ws_id) as session:
        ctx = system_context(session, ws_id)
        later = realdata.later_period(ctx)
        predictive_auc, rules_auc = realdata.later_aucs(ctx, later)
    print(
        f"last 3 months ({len(later.labels)} leads, {sum(later.labels)} converted): "
        f"predictive AUC {predictive_auc:.3f}, rules AUC {rules_auc:.3f}"
    )
    start = time.perf_counter()
    with transaction(ws_id) as session:
        rescored = scoring_live.rescore_leads(system_context(session, ws_id))
    took = time.perf_counter() - start
    print(f"rescore {rescored} people: {took:.1f} s = {rescored / took:.0f} people/s")


if __name__ == "__main__":
    main()
