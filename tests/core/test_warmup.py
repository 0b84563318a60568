"""The first-run bytecode warm-up compiles the named packages in another process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rapport.core import warmup


def test_compiles_a_package_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "warm_me_pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "deep.py").write_text("def f():\n    return 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert warmup.package_dirs(("warm_me_pkg", "no_such_package_here")) == [str(package)]
    child = warmup.compile_in_background(("warm_me_pkg",))
    assert child is not None
    assert child.wait(timeout=60) == 0
    tag = sys.implementation.cache_tag
    assert (package / "__pycache__" / f"__init__.{tag}.pyc").exists()
    assert (package / "sub" / "__pycache__" / f"deep.{tag}.pyc").exists()


def test_nothing_to_compile_starts_nothing() -> None:
    assert warmup.compile_in_background(("no_such_package_here",)) is None
