"""Compile, on the machine's other core, the libraries a long task will import late.

A fresh install has no cached bytecode, so the first import of a large library (scikit-learn
and SciPy: ~1,600 modules) compiles it on the spot, seconds on the critical path of a first
``make run``. ``compile_in_background`` starts a separate process that writes that
bytecode while the task does its early work; Python then finds it ready. It never fails the
task: if the process cannot start, or loses the race, the import compiles as it always did.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys


def package_dirs(names: tuple[str, ...]) -> list[str]:
    """The folders of the installed packages among ``names`` (found without importing them)."""
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            found.extend(spec.submodule_search_locations)
    return found


def compile_in_background(names: tuple[str, ...]) -> subprocess.Popen[bytes] | None:
    """Start compiling ``names`` in a child process; returns it (or None on one core)."""
    folders = package_dirs(names)
    if not folders or (os.cpu_count() or 1) < 2:
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "compileall", "-q", "-j", "1", *folders],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
