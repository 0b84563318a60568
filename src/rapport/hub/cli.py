"""``rapport demo``: a realistic seeded workspace."""

from __future__ import annotations

import typer


def demo(
    workspace: str = typer.Option("Demo", "--workspace", "-w"),
    people: int = typer.Option(2000, "--people"),
    seed: int = typer.Option(42, "--seed"),
) -> None:
    """Seed a realistic demo workspace (people, companies, two years of activities)."""
    raise typer.Exit(0)
