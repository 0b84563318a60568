"""``rapport import``, ``rapport export`` and ``rapport dedupe``: data hygiene from a shell.

Output follows ``core.cli_output``: results on stdout (``--json`` for scripts), progress and
problems on stderr; an import that finished with rejected rows exits 3."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from rapport.accounts import service as accounts
from rapport.core.cli_output import (
    JSON_OPTION,
    REJECTS_OPTION,
    emit_json,
    end_with_rejects,
    err,
    fail,
    note,
    out,
    progress,
    rejects_from_csv,
)
from rapport.core.context import system_context
from rapport.core.db import transaction
from rapport.core.records import record_types
from rapport.hub.public import people
from rapport.hygiene.models import ImportJob
from rapport.hygiene.service import (
    cleaning,
    exporting,
    import_companies,
    importing,
    people_custom,
    quality,
    runner,
    sources,
    staleness,
)
from rapport.hygiene.service import dedupe as dedupe_service
from rapport.hygiene.service.cleaning import Problem
from rapport.web.models import SavedView

BAR = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())


def _print_preview(
    file: Path,
    mapping: dict[str, str],
    good: int,
    problems: list[tuple[int, Problem]],
    *,
    as_json: bool,
    warnings: list[tuple[int, Problem]] | None = None,
) -> None:
    """What a preview found: the mapping and the count of valid rows (stdout), the first
    problems and warnings (stderr); or all of it as one JSON document."""
    if as_json:
        emit_json({
            "file": file.name, "applied": False, "mapping": mapping, "valid": good,
            "problems": [{"line": line, "column": p.column, "value": p.value, "reason": p.reason}
                         for line, p in problems],
            "warnings": [{"line": line, "column": p.column, "value": p.value, "reason": p.reason}
                         for line, p in warnings or []],
        })  # fmt: skip
        return
    table = Table(title=f"{file.name}: column → field")
    table.add_column("column")
    table.add_column("field")
    for column, field in mapping.items():
        table.add_row(column, field)
    out.print(table)
    out.print(f"[green]{good}[/green] rows are valid")
    for line, problem in problems:
        err.print(f"  line {line}, {escape(problem.column)}: {escape(problem.reason)}")
    for line, problem in warnings or []:
        err.print(f"  warning: line {line}, {escape(problem.column)}: {escape(problem.reason)}")
    note("preview only: nothing written; add --apply to import")


def _finish_import(job: ImportJob, rejects: Path | None, *, as_json: bool, what: str) -> None:
    """The counts of a finished import (stdout), then its rejected rows (stderr, and all of
    them in ``rejects``); exits 3 when any row was rejected."""
    counts = {k: getattr(job, k) for k in ("created", "updated", "unchanged", "rejected", "warned")}
    if as_json:
        emit_json({"import_id": job.id, "object": what, "applied": True, "status": job.status,
                   **counts})  # fmt: skip
    else:
        label = importing.target_for(what).label.lower()
        suffix = f" ({label})" if what != "person" else ""
        table = Table(title=f"import {job.id}{suffix}")
        for name in counts:
            table.add_column(name, justify="right")
        table.add_row(*(str(v) for v in counts.values()))
        out.print(table)
    with transaction(job.workspace_id) as session:
        chunks = importing.rejects_csv(system_context(session, job.workspace_id), job.id)
    end_with_rejects(rejects_from_csv(chunks), rejected_rows=job.rejected, path=rejects)


workspace_id = accounts.workspace_id


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
    batch_size: int = typer.Option(20_000, "--batch-size", min=1, max=100_000),  # people
    companies: Path | None = typer.Option(
        None,
        "--companies",
        exists=True,
        dir_okay=False,
        help="Import companies from this CSV, JSONL or vCard file instead of people",
    ),
    object: str = typer.Option(
        "people", "--object", help="What FILE holds: people, companies, deals, activities"
    ),
    rejects: Path | None = REJECTS_OPTION,
    as_json: bool = JSON_OPTION,
    lenient: bool = typer.Option(
        False,
        "--lenient",
        help="Keep a person whose value fails its check, that field left empty (a warning)",
    ),
) -> None:
    """Import people (or --companies FILE, or --object deals|activities) from a file;
    previews by default, writes with --apply (rerun-safe). Exits 3 when rows were rejected
    (--rejects FILE lists them all)."""
    if rejects is not None and not (apply or resume):
        raise typer.BadParameter("needs --apply (or --resume): a preview rejects nothing",
                                 param_hint="--rejects")  # fmt: skip
    if object in ("companies", "company") and companies is None:
        companies, file = file, None
    if companies is not None:
        _import_companies(workspace, companies, mapping, saved, save_as, fmt, apply, resume,
                          rejects=rejects, as_json=as_json)  # fmt: skip
        return
    if object not in ("people", "person"):
        _import_target(workspace, object, file, mapping, saved, save_as, fmt, apply, resume,
                       rejects=rejects, as_json=as_json)  # fmt: skip
        return
    try:
        ws = workspace_id(workspace)
        if resume:
            job_id = uuid.UUID(resume)
        else:
            if file is None:
                raise typer.BadParameter("give a FILE (or --resume ID)", param_hint="FILE")
            kind = fmt or sources.guess_format(file.name)
            overrides = sources.parse_overrides(mapping)
            if not apply:
                _preview(
                    ws, file, kind, overrides, runner.saved_fields(ws, saved), as_json, lenient
                )
                return
            job_id = runner.start_file(
                ws, file, kind, overrides, mapping_name=saved, save_as=save_as, lenient=lenient
            )
            note(f"import [bold]{job_id}[/bold] (resume with --resume {job_id})")
        job = _run(ws, job_id, batch_size)
    except ValueError as exc:  # an unknown format, a bad --map pair or --resume id
        fail(str(exc))
    _finish_import(job, rejects, as_json=as_json, what="person")


def _preview(
    ws: uuid.UUID,
    file: Path,
    fmt: str,
    overrides: dict[str, str],
    saved: dict[str, str],
    as_json: bool,
    lenient: bool = False,
) -> None:
    warnings: list[tuple[int, Problem]] = []
    with file.open("rb") as handle, transaction(ws) as session:
        ctx = system_context(session, ws)
        mapping, good, problems = runner.preview(
            handle, fmt, overrides, region=cleaning.phone_region(ctx), saved=saved,
            custom=people_custom.labels(ctx),
            check=lambda row: people_custom.check_row(ctx, row),
            lenient=lenient, warnings=warnings,
        )  # fmt: skip
    _print_preview(file, mapping, good, problems, as_json=as_json, warnings=warnings)


def _run(ws: uuid.UUID, job_id: uuid.UUID, batch_size: int) -> ImportJob:
    with transaction(ws) as session:
        job = importing.get_job(system_context(session, ws), job_id)
        total = runner.count_lines(Path(job.path)) if job.path else None
        done = job.last_line
    with progress(*BAR) as bar:
        task = bar.add_task("lines", total=total, completed=done)
        return runner.run_file(
            ws,
            job_id,
            batch_size=batch_size,
            progress=lambda line: bar.update(task, completed=line),
        )


def _import_companies(
    workspace: str,
    file: Path,
    pairs: list[str],
    saved: str | None,
    save_as: str | None,
    fmt: str | None,
    apply: bool,
    resume: str | None,
    *,
    rejects: Path | None,
    as_json: bool,
) -> None:
    """``rapport import --companies FILE``: preview, or with --apply load with a progress bar."""
    try:
        ws = workspace_id(workspace)
        kind = fmt or sources.guess_format(file.name)
        overrides = sources.parse_overrides(pairs)
        if resume:
            job_id = uuid.UUID(resume)
        elif not apply:
            with transaction(ws) as session, file.open("rb") as handle:
                ctx = system_context(session, ws)
                source = import_companies.open_companies(handle, kind)
                mapping = import_companies.resolve_mapping(
                    ctx, source.columns, kind, runner.saved_fields(ws, saved), overrides
                )
                cleaner = import_companies.Cleaner(ctx, mapping)
                good, problems = 0, list[tuple[int, Problem]]()
                for line, raw in source.records:
                    outcome = cleaner.clean(line, raw)
                    if isinstance(outcome, import_companies.CleanCompany):
                        good += 1
                    elif len(problems) < 20:
                        problems += [(line, p) for p in outcome]
            _print_preview(file, mapping, good, problems, as_json=as_json)
            return
        else:
            job_id = runner.start_file(
                ws, file, kind, overrides, mapping_name=saved, save_as=save_as, object="company"
            )
            note(f"import [bold]{job_id}[/bold] (resume with --resume {job_id})")
        job = _run_with_total(ws, job_id)
    except ValueError as exc:
        fail(str(exc))
    _finish_import(job, rejects, as_json=as_json, what="company")


def _run_with_total(ws: uuid.UUID, job_id: uuid.UUID) -> ImportJob:
    """Run a job (batches of its target's size) with a progress bar over its records."""
    with transaction(ws) as session:
        job = importing.get_job(system_context(session, ws), job_id)
        total, done = job.total_rows, job.last_line
    with progress(*BAR) as bar:
        task = bar.add_task("lines", total=total, completed=done)
        return runner.run_file(ws, job_id, progress=lambda line: bar.update(task, completed=line))


def _import_target(
    workspace: str,
    object: str,
    file: Path | None,
    pairs: list[str],
    saved: str | None,
    save_as: str | None,
    fmt: str | None,
    apply: bool,
    resume: str | None,
    *,
    rejects: Path | None,
    as_json: bool,
) -> None:
    """``rapport import --object deals FILE``: any registered target (deals, activities, …);
    a preview writes each batch in a savepoint and rolls it back."""
    try:
        ws = workspace_id(workspace)
        target = importing.target_for(object)
        if resume:
            job_id = uuid.UUID(resume)
        elif file is None:
            raise typer.BadParameter("give a FILE (or --resume ID)", param_hint="FILE")
        elif not apply:
            kind = fmt or sources.guess_format(file.name)
            mapping, good, problems = runner.dry_run(
                ws, target, file, kind, sources.parse_overrides(pairs),
                runner.saved_fields(ws, saved),
            )  # fmt: skip
            _print_preview(file, mapping, good, problems, as_json=as_json)
            return
        else:
            kind = fmt or sources.guess_format(file.name)
            job_id = runner.start_file(
                ws, file, kind, sources.parse_overrides(pairs), mapping_name=saved,
                save_as=save_as, object=target.object,
            )  # fmt: skip
            note(f"import [bold]{job_id}[/bold] (resume with --resume {job_id})")
        job = _run_with_total(ws, job_id)
    except ValueError as exc:
        fail(str(exc))
    _finish_import(job, rejects, as_json=as_json, what=target.object)


def _exportable() -> dict[str, str]:
    """Every record type with an export, by its plural: people, companies, deals, tasks…"""
    return {kind.plural: kind.name for kind in record_types() if exporting.formats(kind)}


def _lines_counted(chunks: Iterator[str], progress: Callable[[int], None]) -> Iterator[str]:
    """``chunks`` as they are, reporting the lines written so far (the progress bar)."""
    lines = 0
    for chunk in chunks:
        lines += chunk.count("\n")
        progress(max(lines - 1, 0))  # less the CSV header: a bar, not an audit
        yield chunk


def export(
    what: str = typer.Argument(..., help="people | companies | deals | tasks"),
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
    """Export people, companies, deals or tasks as CSV or JSON lines (people and companies also
    as vCard) — the same file as the API's export; people and companies import back unchanged.
    Streams; with --output, shows a progress bar."""
    kinds = _exportable()
    object_type = kinds.get(what)
    if object_type is None:
        fail(f"export {' | '.join(kinds)}, not {what!r}")
    try:
        ws = workspace_id(workspace)
        try:
            view_id = uuid.UUID(view) if view else None
        except ValueError:
            fail(f"--view takes a saved view's id, not {view!r}")
        with progress(*BAR, disable=output is None) as bar:
            task = bar.add_task(what, total=None)
            with transaction(ws) as session:
                ctx = system_context(session, ws)
                if view_id is not None:  # the shell may use anyone's view: act as its owner
                    ctx.user_id = session.scalar(
                        select(SavedView.user_id).where(SavedView.id == view_id)
                    )
                node = exporting.build_filter(ctx, {}, filter_text, view_id, object_type)
                done = lambda n: bar.update(task, completed=n)  # noqa: E731
                if what == "people":
                    body = exporting.export_people(ctx, fmt, node, progress=done)
                elif what == "companies":
                    body = exporting.export_companies(ctx, fmt, node, progress=done)
                else:
                    body = _lines_counted(exporting.export(ctx, object_type, fmt, node), done)
                if output is not None:
                    bar.update(task, total=exporting.count(ctx, object_type, node))
            if output is None:
                for chunk in body:
                    sys.stdout.write(chunk)
                sys.stdout.flush()
                return
            with output.open("w", encoding="utf-8", newline="") as handle:
                for chunk in body:
                    handle.write(chunk)
    except ValueError as exc:
        fail(str(exc))
    out.print(f"[green]✓[/green] {what} written to {escape(str(output))}")


def dedupe(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    threshold: float = typer.Option(0.5, "--threshold", min=0.0, max=1.0, help="Review from"),
    auto_merge: float = typer.Option(0.95, "--auto-merge", min=0.0, max=1.0),
    apply: bool = typer.Option(False, "--apply", help="Merge pairs at or above --auto-merge"),
    companies: bool = typer.Option(False, "--companies", help="Companies instead of people"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Find likely duplicate people (or --companies) and refresh the review queue; with
    --apply, also merge the pairs above the auto-merge threshold (each can be undone)."""
    if companies:
        _dedupe_companies(workspace, threshold, auto_merge, apply, as_json=as_json)
        return
    ws = workspace_id(workspace)
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn())
    with progress(*columns) as bar, transaction(ws) as session:
        task = bar.add_task("people read", total=None)

        def step(stage: str, n: int) -> None:
            bar.update(task, description=f"{stage}", completed=n, total=n)

        ctx = system_context(session, ws)
        result = dedupe_service.find_duplicates(
            ctx, threshold=threshold, auto_merge=auto_merge, progress=step
        )
        merged = (
            dedupe_service.apply_auto_merges(ctx, threshold=auto_merge, progress=step)
            if apply
            else []
        )
        top: list[dict[str, Any]] = []
        for row in result.top:
            a = people.get(ctx, row.person_a, include_deleted=True)
            b = people.get(ctx, row.person_b, include_deleted=True)
            same = [k for k, v in row.reasons.items() if v in ("exact", "close")]
            top.append({"probability": row.probability, "a": {"id": a.id, "name": a.full_name},
                        "b": {"id": b.id, "name": b.full_name}, "agreeing": same})  # fmt: skip
    counts = {"people": result.people, "compared": result.compared, "candidates": result.found,
              "new": result.new, "remembered": result.remembered,
              "above_auto_merge": result.auto_merge}  # fmt: skip
    if as_json:
        emit_json({**counts, "applied": apply, "merged": len(merged), "top": top})
        return
    table = Table(title=f"most likely duplicates (of {result.found})")
    for column in ("probability", "person", "person", "agreeing fields"):
        table.add_column(column)
    for pair in top:
        table.add_row(f"{pair['probability']:.3f}", pair["a"]["name"], pair["b"]["name"],
                      ", ".join(pair["agreeing"]))  # fmt: skip
    out.print(table)
    summary = Table(title="dedupe")
    for name in ("people", "pairs compared", "candidates", "new", "remembered", "≥ auto-merge"):
        summary.add_column(name, justify="right")
    summary.add_row(*(str(v) for v in counts.values()))
    out.print(summary)
    if apply:
        out.print(f"[green]merged {len(merged)} pairs[/green] (undo: POST /api/v1/merges/ID/undo)")
    else:
        note("preview: review queue refreshed, nothing merged; add --apply to auto-merge")


hygiene_app = typer.Typer(help="Data hygiene: staleness and the quality report.")


@hygiene_app.command("stale")
def stale(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    now: str | None = typer.Option(None, "--now", help="ISO date-time to judge from (tests)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Flag people with no activity in the workspace's period and no open deal as inactive
    (clearing those active again) and pick up bounced emails from the timeline."""
    ws = workspace_id(workspace)
    try:
        when = datetime.fromisoformat(now) if now else None
    except ValueError as exc:
        fail(f"--now: {exc}")
    with transaction(ws) as session:
        result = staleness.flag_stale(system_context(session, ws), now=when)
    counts = {"inactive_days": result.inactive_days, "newly_inactive": result.flagged,
              "active_again": result.revived, "inactive": result.inactive,
              "bounced": result.bounced}  # fmt: skip
    if as_json:
        emit_json(counts)
        return
    table = Table(title=f"staleness ({result.inactive_days} days)")
    for name in ("newly inactive", "active again", "inactive", "bounced"):
        table.add_column(name, justify="right")
    table.add_row(*(str(v) for v in (result.flagged, result.revived, result.inactive,
                                     result.bounced)))  # fmt: skip
    out.print(table)


@hygiene_app.command("quality")
def quality_report(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace slug or id"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the data-quality report."""
    ws = workspace_id(workspace)
    with transaction(ws) as session:
        report = quality.report(system_context(session, ws))
    if as_json:
        emit_json(report)
        return
    table = Table(title=f"completeness of {report['people']} people")
    table.add_column("field")
    table.add_column("filled", justify="right")
    table.add_column("share", justify="right")
    for name, value in report["completeness"].items():
        table.add_row(name, str(value["filled"]), f"{value['share']:.0%}")
    out.print(table)
    for key in ("duplicates_pending", "company_duplicates_pending", "inactive", "bounced_emails"):
        out.print(f"{key.replace('_', ' ')}: {report[key]}")
    out.print(f"invalid emails: {report['invalid']['emails']}, "
              f"invalid phones: {report['invalid']['phones']}")  # fmt: skip


def _dedupe_companies(
    workspace: str, threshold: float, auto_merge: float, apply: bool, *, as_json: bool
) -> None:
    """``rapport dedupe --companies``: scan companies; with --apply merge the surest pairs."""
    ws = workspace_id(workspace)
    merged = 0
    with transaction(ws) as session:
        ctx = system_context(session, ws)
        result = dedupe_service.find_company_duplicates(ctx, threshold=threshold,
                                                        auto_merge=auto_merge)  # fmt: skip
        if apply:
            gone: set[uuid.UUID] = set()
            for row in dedupe_service.list_company_candidates(ctx, limit=500).items:
                if row.probability < auto_merge or {row.company_a, row.company_b} & gone:
                    continue
                dedupe_service.decide_company(ctx, row.id, "merge")
                gone.add(row.company_b)
                merged += 1
    counts = {"companies": result.people, "compared": result.compared,
              "candidates": result.found, "new": result.new, "remembered": result.remembered,
              "merged": merged}  # fmt: skip
    if as_json:
        emit_json({**counts, "applied": apply})
        return
    summary = Table(title="dedupe companies")
    for name in ("companies", "pairs compared", "candidates", "new", "remembered", "merged"):
        summary.add_column(name, justify="right")
    summary.add_row(*(str(v) for v in counts.values()))
    out.print(summary)


def register(app: typer.Typer) -> None:
    """Add the hygiene commands to the root ``rapport`` app (``Domain.cli``)."""
    app.command("import")(import_)
    app.command("export")(export)
    app.command("dedupe")(dedupe)
    app.add_typer(hygiene_app, name="hygiene")
