"""Import progress for ``/metrics``: how many imports wait or run, and how far the running
ones are. One grouped query over ``import_jobs``, a table of one row per import (small)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.core.metrics import DatabaseCollector
from rapport.hygiene.models import ImportJob

UNFINISHED = ("queued", "running")


class ImportsCollector(DatabaseCollector):
    """Imports by state, and the rows done and known in total across the running ones."""

    name = "imports"

    def read(self, session: Session) -> Iterable[Metric]:
        rows = session.execute(
            select(
                ImportJob.status,
                func.count(),
                func.coalesce(func.sum(ImportJob.rows_done), 0),
                func.coalesce(func.sum(ImportJob.total_rows), 0),
            )
            .where(ImportJob.status.in_(UNFINISHED))
            .group_by(ImportJob.status)
        ).all()
        found = {status: (count, done, total) for status, count, done, total in rows}
        imports = GaugeMetricFamily(
            "rapport_imports", "Imports waiting (queued) or running.", labels=["state"]
        )
        for state in UNFINISHED:
            imports.add_metric([state], found.get(state, (0, 0, 0))[0])
        _count, done, total = found.get("running", (0, 0, 0))
        return [
            imports,
            GaugeMetricFamily(
                "rapport_import_rows_done", "Rows the running imports have done.", value=done
            ),
            GaugeMetricFamily(
                "rapport_import_rows_total",
                "Rows in the running imports' files, where counted yet.",
                value=total,
            ),
        ]
