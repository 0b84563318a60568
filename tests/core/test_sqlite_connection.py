"""The embedded database's connection settings, on a SQLite file of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.core import db


def test_a_checkpointed_wal_is_cut_back_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a big write the WAL file shrinks back once checkpointed (SQLite otherwise keeps
    it at its largest, gigabytes after a 1M-row import, while any connection is open)."""
    monkeypatch.setattr(db, "WAL_LIMIT_BYTES", 64 << 10)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    wal = tmp_path / "wal.db-wal"
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
            "INSERT INTO t SELECT hex(randomblob(500)) FROM n"
        )
    assert wal.stat().st_size > 1 << 20
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES ('one more')")  # the WAL starts over
    assert wal.stat().st_size <= 64 << 10
    engine.dispose()


def test_lower_folds_every_letter_as_postgresql_does(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'lower.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT lower('ÉTIENNE Ökonomie'), lower(NULL)").one() == (
            "étienne ökonomie",
            None,
        )
    engine.dispose()
