"""``rapport import``, ``rapport export`` and ``rapport dedupe``: data hygiene from a shell."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from rapport.accounts import service as accounts
from rapport.core.config import get_settings
from rapport.core.db import transaction
from rapport.core.errors import RapportError

console = Console(stderr=True)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def _fail_error(exc: RapportError) -> None:
    """Exit with a service error: its detail, then each field's message on its own line."""
    _fail(exc.detail + "".join(f"\n  {e.as_dict()['field']}: {e.message}" for e in exc.errors))


def _print_preview(
    file: Path, mapping: dict[str, str], good: int, problems: list[tuple[int, Any]]
) -> None:
    """What a preview found: the mapping, the count of valid rows and the first problems."""
    table = Table(title=f"{file.name}: column → field")
    table.add_column("column")
    table.add_column("field")
    for column, field in mapping.items():
        table.add_row(column, field)
    console.print(table)
    console.print(f"[green]{good}[/green] rows are valid")
    for line, problem in problems:
        console.print(f"  line {line}, {problem.column}: {problem.reason}")
    console.print("preview only: nothing written; add --apply to import")


def workspace_id(slug: str) -> uuid.UUID:
    """The id of a workspace named by slug or id."""
    with transaction(unscoped=True) as session:
        return accounts.get_workspace(session, slug).id


def import_(
    file: Path | None = typer.Argument(
        None, exists=True, dir_okay=False, help="CSV, vCard or JSONL"
    ),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    mapping: list[str] = typer.Option([], "--map", help="column=field (field 'ignore' drops)"),
    saved: str | None = typer.Option(None, "--mapping", help="Apply the saved mapping NAME"),
    save_as: str | None = typer.Option(
        None, "--save-mapping", help="Save the resulting mapping as NAME (with --apply)"
    ),
    fmt: str | None = typer.Option(None, "--format", help="csv | vcf | jsonl (default: by name)"),
    apply: bool = typer.Option(False, "--apply", help="Write; without it, only validate"),
    resume: str | None = typer.Option(None, "--resume", help="Resume the import with this id"),
    batch_size: int = typer.Option(20_000, "--batch-size", min=1, max=100_000),  # importing.BATCH
    companies: Path | None = typer.Option(
        None,
        "--companies",
        exists=True,
        dir_okay=False,
        help="Import companies from this CSV, JSONL or vCard file instead of people",
    ),
) -> None:
    """Import people (or --companies FILE) from a file; previews by default, writes with
    --apply (rerun-safe)."""
    from rapport.hygiene.service import runner, sources

    if companies is not None:
        _import_companies(workspace, companies, mapping, saved, save_as, fmt, apply, resume)
        return
    try:
        ws = workspace_id(workspace)
        if resume:
            job_id = uuid.UUID(resume)
        else:
            if file is None:
                _fail("give a FILE (or --resume ID)")
                return
            kind = fmt or sources.guess_format(file.name)
            overrides = sources.parse_overrides(mapping)
            if not apply:
                _preview(ws, file, kind, overrides, runner.saved_fields(ws, saved))
                return
            job_id = runner.start_file(
                ws, file, kind, overrides, mapping_name=saved, save_as=save_as
            )
            console.print(f"import [bold]{job_id}[/bold] (resume with --resume {job_id})")
        _run(ws, job_id, batch_size)
    except RapportError as exc:
        _fail_error(exc)
    except ValueError as exc:
        _fail(str(exc))


def _preview(
    ws: uuid.UUID, file: Path, fmt: str, overrides: dict[str, str], saved: dict[str, str]
) -> None:
    from rapport.core.context import system_context
    from rapport.hygiene.service import people_custom, runner

    region = get_settings().default_region
    with file.open("rb") as handle, transaction(ws) as session:
        ctx = system_context(session, ws)
        mapping, good, problems = runner.preview(
            handle, fmt, overrides, region=region, saved=saved,
            custom=people_custom.labels(ctx),
            check=lambda row: people_custom.check_row(ctx, row),
        )  # fmt: skip
    _print_preview(file, mapping, good, problems)


def _run(ws: uuid.UUID, job_id: uuid.UUID, batch_size: int) -> None:
    from rapport.hygiene.service import runner

    with transaction(ws) as session:
        from rapport.core.context import system_context
        from rapport.hygiene.service import importing

        job = importing.get_job(system_context(session, ws), job_id)
        total = runner.count_lines(Path(job.path)) if job.path else None
        done = job.last_line
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("lines", total=total, completed=done)
        job = runner.run_file(
            ws,
            job_id,
            batch_size=batch_size,
            progress=lambda line: progress.update(task, completed=line),
        )
    table = Table(title=f"import {job.id}")
    for name in ("created", "updated", "unchanged", "rejected"):
        table.add_column(name, justify="right")
    table.add_row(str(job.created), str(job.updated), str(job.unchanged), str(job.rejected))
    console.print(table)
    if job.rejected:
        console.print(f"rejects: GET /api/v1/imports/{job.id}/rejects.csv")
    sys.stdout.flush()


def _import_companies(
    workspace: str,
    file: Path,
    pairs: list[str],
    saved: str | None,
    save_as: str | None,
    fmt: str | None,
    apply: bool,
    resume: str | None,
) -> None:
    """``rapport import --companies FILE``: preview, or with --apply load with a progress bar."""
    from rapport.core.context import system_context
    from rapport.hygiene.service import importing, importing_companies, runner, sources
    from rapport.hygiene.service.cleaning import Problem

    try:
        ws = workspace_id(workspace)
        kind = fmt or sources.guess_format(file.name)
        overrides = sources.parse_overrides(pairs)
        if resume:
            job_id = uuid.UUID(resume)
        elif not apply:
            with transaction(ws) as session, file.open("rb") as handle:
                ctx = system_context(session, ws)
                source = importing_companies.open_companies(handle, kind)
                mapping = importing_companies.resolve_mapping(
                    ctx, source.columns, kind, runner.saved_fields(ws, saved), overrides
                )
                cleaner = importing_companies.Cleaner(ctx, mapping)
                good, problems = 0, list[tuple[int, Problem]]()
                for line, raw in source.records:
                    outcome = cleaner.clean(line, raw)
                    if isinstance(outcome, importing_companies.CleanCompany):
                        good += 1
                    elif len(problems) < 20:
                        problems += [(line, p) for p in outcome]
            _print_preview(file, mapping, good, problems)
            return
        else:
            job_id = importing_companies.start_file(
                ws, file, kind, overrides, mapping_name=saved, save_as=save_as
            )
            console.print(f"import [bold]{job_id}[/bold] (resume with --resume {job_id})")
        with transaction(ws) as session:
            job = importing.get_job(system_context(session, ws), job_id)
            total, done = job.total_rows, job.last_line
        columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("lines", total=total, completed=done)
            job = importing_companies.run_file(
                ws, job_id, progress=lambda line: progress.update(task, completed=line)
            )
    except RapportError as exc:
        _fail_error(exc)
        return
    except ValueError as exc:
        _fail(str(exc))
        return
    table = Table(title=f"import {job.id} (companies)")
    for name in ("created", "updated", "unchanged", "rejected"):
        table.add_column(name, justify="right")
    table.add_row(str(job.created), str(job.updated), str(job.unchanged), str(job.rejected))
    console.print(table)
    if job.rejected:
        console.print(f"rejects: GET /api/v1/imports/{job.id}/rejects.csv")


EXPORTS = {"people": "person", "companies": "company"}


def export(
    what: str = typer.Argument(..., help="people | companies"),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    fmt: str = typer.Option(..., "--format", help="csv | vcf | jsonl"),
    filter_text: str | None = typer.Option(
        None,
        "--filter",
        help="JSON filter expression, as the list's ?filter= (e.g. '{\"field\": "
        '"lifecycle_stage", "op": "eq", "value": "customer"}\')',
    ),
    view: str | None = typer.Option(None, "--view", help="Export what this saved view lists"),
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False, help="Write to this file (default: stdout)"
    ),
) -> None:
    """Export people or companies as CSV, vCard or JSON lines — the same file as the API's
    export, so it imports back unchanged. Streams; with --output, shows a progress bar."""
    from sqlalchemy import select

    from rapport.core.context import system_context
    from rapport.hygiene.service import exporting
    from rapport.web.models import SavedView

    object_type = EXPORTS.get(what)
    if object_type is None:
        _fail(f"export people or companies, not {what!r}")
        return
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        ws = workspace_id(workspace)
        try:
            view_id = uuid.UUID(view) if view else None
        except ValueError:
            _fail(f"--view takes a saved view's id, not {view!r}")
            return
        with Progress(*columns, console=console, disable=output is None) as progress:
            task = progress.add_task(what, total=None)
            with transaction(ws) as session:
                ctx = system_context(session, ws)
                if view_id is not None:  # the shell may use anyone's view: act as its owner
                    ctx.user_id = session.scalar(
                        select(SavedView.user_id).where(SavedView.id == view_id)
                    )
                node = exporting.build_filter(ctx, {}, filter_text, view_id, object_type)
                make = exporting.export_people if what == "people" else exporting.export_companies
                body = make(ctx, fmt, node, progress=lambda n: progress.update(task, completed=n))
                if output is not None:
                    progress.update(task, total=exporting.count(ctx, object_type, node))
            if output is None:
                for chunk in body:
                    sys.stdout.write(chunk)
                sys.stdout.flush()
                return
            with output.open("w", encoding="utf-8", newline="") as out:
                for chunk in body:
                    out.write(chunk)
    except RapportError as exc:
        _fail_error(exc)
        return
    except ValueError as exc:
        _fail(str(exc))
        return
    console.print(f"[green]✓[/green] {what} written to {output}")


def dedupe(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    threshold: float = typer.Option(0.5, "--threshold", min=0.0, max=1.0, help="Review from"),
    auto_merge: float = typer.Option(0.95, "--auto-merge", min=0.0, max=1.0),
    apply: bool = typer.Option(False, "--apply", help="Merge pairs at or above --auto-merge"),
    companies: bool = typer.Option(False, "--companies", help="Companies instead of people"),
) -> None:
    """Find likely duplicate people (or --companies) and refresh the review queue; with
    --apply, also merge the pairs above the auto-merge threshold (each can be undone)."""
    from rapport.core.context import system_context
    from rapport.hub.service import people
    from rapport.hygiene.service import dedupe as service

    if companies:
        _dedupe_companies(workspace, threshold, auto_merge, apply)
        return
    try:
        ws = workspace_id(workspace)
        columns = ("{task.description}", BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console) as progress, transaction(ws) as session:
            task = progress.add_task("people read", total=None)

            def step(stage: str, n: int) -> None:
                progress.update(task, description=f"{stage}", completed=n, total=n)

            ctx = system_context(session, ws)
            result = service.find_duplicates(
                ctx, threshold=threshold, auto_merge=auto_merge, progress=step
            )
            merged = (
                service.apply_auto_merges(ctx, threshold=auto_merge, progress=step) if apply else []
            )
            table = Table(title=f"most likely duplicates (of {result.found})")
            for column in ("probability", "person", "person", "agreeing fields"):
                table.add_column(column)
            for row in result.top:
                a = people.get(ctx, row.person_a, include_deleted=True)
                b = people.get(ctx, row.person_b, include_deleted=True)
                same = ", ".join(k for k, v in row.reasons.items() if v in ("exact", "close"))
                table.add_row(f"{row.probability:.3f}", a.full_name, b.full_name, same)
    except RapportError as exc:
        _fail(exc.detail)
        return
    console.print(table)
    summary = Table(title="dedupe")
    for name in ("people", "pairs compared", "candidates", "new", "remembered", "≥ auto-merge"):
        summary.add_column(name, justify="right")
    summary.add_row(*(str(v) for v in (result.people, result.compared, result.found, result.new,
                                       result.remembered, result.auto_merge)))  # fmt: skip
    console.print(summary)
    if apply:
        console.print(
            f"[green]merged {len(merged)} pairs[/green] (undo: POST /api/v1/merges/ID/undo)"
        )
    else:
        console.print("preview: review queue refreshed, nothing merged; add --apply to auto-merge")


hygiene_app = typer.Typer(help="Data hygiene: staleness and the quality report.")


@hygiene_app.command("stale")
def stale(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    now: str | None = typer.Option(None, "--now", help="ISO date-time to judge from (tests)"),
) -> None:
    """Flag people with no activity in the workspace's period and no open deal as inactive
    (clearing those active again) and pick up bounced emails from the timeline."""
    from datetime import datetime

    from rapport.core.context import system_context
    from rapport.hygiene.service import staleness

    try:
        ws = workspace_id(workspace)
        when = datetime.fromisoformat(now) if now else None
        with transaction(ws) as session:
            result = staleness.flag_stale(system_context(session, ws), now=when)
    except RapportError as exc:
        _fail(exc.detail)
        return
    except ValueError as exc:
        _fail(str(exc))
        return
    table = Table(title=f"staleness ({result.inactive_days} days)")
    for name in ("newly inactive", "active again", "inactive", "bounced"):
        table.add_column(name, justify="right")
    table.add_row(*(str(v) for v in (result.flagged, result.revived, result.inactive,
                                     result.bounced)))  # fmt: skip
    console.print(table)


@hygiene_app.command("quality")
def quality_report(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
) -> None:
    """Print the data-quality report."""
    from rapport.core.context import system_context
    from rapport.hygiene.service import quality

    try:
        ws = workspace_id(workspace)
        with transaction(ws) as session:
            report = quality.report(system_context(session, ws))
    except RapportError as exc:
        _fail(exc.detail)
        return
    table = Table(title=f"completeness of {report['people']} people")
    table.add_column("field")
    table.add_column("filled", justify="right")
    table.add_column("share", justify="right")
    for name, value in report["completeness"].items():
        table.add_row(name, str(value["filled"]), f"{value['share']:.0%}")
    console.print(table)
    for key in ("duplicates_pending", "company_duplicates_pending", "inactive", "bounced_emails"):
        console.print(f"{key.replace('_', ' ')}: {report[key]}")
    console.print(f"invalid emails: {report['invalid']['emails']}, "
                  f"invalid phones: {report['invalid']['phones']}")  # fmt: skip


def _dedupe_companies(workspace: str, threshold: float, auto_merge: float, apply: bool) -> None:
    """``rapport dedupe --companies``: scan companies; with --apply merge the surest pairs."""
    from rapport.core.context import system_context
    from rapport.hygiene.service import dedupe as service

    try:
        ws = workspace_id(workspace)
        merged = 0
        with transaction(ws) as session:
            ctx = system_context(session, ws)
            result = service.find_company_duplicates(ctx, threshold=threshold,
                                                     auto_merge=auto_merge)  # fmt: skip
            if apply:
                gone: set[uuid.UUID] = set()
                for row in service.list_company_candidates(ctx, limit=500).items:
                    if row.probability < auto_merge or {row.company_a, row.company_b} & gone:
                        continue
                    service.decide_company(ctx, row.id, "merge")
                    gone.add(row.company_b)
                    merged += 1
    except RapportError as exc:
        _fail(exc.detail)
        return
    summary = Table(title="dedupe companies")
    for name in ("companies", "pairs compared", "candidates", "new", "remembered", "merged"):
        summary.add_column(name, justify="right")
    summary.add_row(*(str(v) for v in (result.people, result.compared, result.found, result.new,
                                       result.remembered, merged)))  # fmt: skip
    console.print(summary)
