""".env.example lists every setting with its default: a new setting cannot be forgotten."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from rapport.core.config import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
LINE = re.compile(r"^(?P<off>#\s*)?RAPPORT_(?P<name>[A-Z0-9_]+)=(?P<value>.*)$")


def listed() -> dict[str, tuple[bool, str]]:
    """Each variable the file shows: whether it is commented out, and its value."""
    found: dict[str, tuple[bool, str]] = {}
    for line in EXAMPLE.read_text().splitlines():
        match = LINE.match(line)
        if match:
            name = match["name"].lower()
            assert name not in found, f"RAPPORT_{match['name']} is listed twice"
            found[name] = (bool(match["off"]), match["value"])
    return found


def commented(name: str) -> bool:
    """Whether the line just above the variable explains it."""
    lines = EXAMPLE.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if LINE.match(line) and
                 f"RAPPORT_{name.upper()}=" in line)  # fmt: skip
    return index > 0 and lines[index - 1].startswith("# ") and not LINE.match(lines[index - 1])


def test_every_setting_is_listed_and_nothing_else() -> None:
    missing = set(Settings.model_fields) - set(listed())
    unknown = set(listed()) - set(Settings.model_fields)

    assert not missing, f"add to .env.example: {', '.join(sorted(missing))}"
    assert not unknown, f"not settings (any more): {', '.join(sorted(unknown))}"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_each_setting_has_a_comment(name: str) -> None:
    assert commented(name), f"RAPPORT_{name.upper()} needs a one-line comment above it"


def test_settings_without_a_default_are_commented_out() -> None:
    for name, (off, _value) in listed().items():
        has_default = Settings.model_fields[name].default is not None
        assert off != has_default, f"RAPPORT_{name.upper()}: comment out exactly the unset ones"


def test_the_values_shown_are_the_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Read through pydantic-settings itself, so each value parses to the very default."""
    for variable in [v for v in os.environ if v.startswith("RAPPORT_")]:
        monkeypatch.delenv(variable)
    monkeypatch.chdir(tmp_path)  # no stray .env

    from_example = Settings(_env_file=EXAMPLE)
    defaults = Settings(_env_file=None)

    assert from_example.model_dump() == defaults.model_dump()
