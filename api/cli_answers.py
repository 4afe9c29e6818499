"""`guideqa answers ...`, `guideqa replay` and `guideqa feedback export`: answer records from the
command line (local administration: no token, the records file is read directly)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from pathlib import Path

import click

from guideqa.api.cli_common import friendly_errors, index_option, json_option
from guideqa.api.library import GuideQA
from guideqa.api.settings import load_settings
from guideqa.qa.records import AnswerRecord
from guideqa.qa.replay import ReplayResult

_CSV = (
    "answer_id",
    "created",
    "index_version",
    "question",
    "interpreted_question",
    "bottom_line",
    "abstained",
    "references",
    "helpful",
    "not_helpful",
    "reports",
    "settings_id",
    "model",
)


def _day(value: dt.date | dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.combine(
        value.date() if isinstance(value, dt.datetime) else value, dt.time(), dt.UTC
    )


def _csv_row(record: AnswerRecord) -> list[object]:
    notes = record.feedback
    return [
        record.answer_id,
        record.created.isoformat(),
        record.index_version,
        record.question,
        record.interpreted_question,
        record.answer.summary,
        record.answer.abstained,
        ";".join(f"{c.doc_id}#{c.chunk_id}" for c in record.answer.references),
        sum(n.helpful is True for n in notes),
        sum(n.helpful is False for n in notes),
        sum(bool(n.problem or n.comment) for n in notes),
        record.settings_id,
        record.model,
    ]


@click.group("answers")
def answers_group() -> None:
    """Recorded answers (GUIDEQA_RECORDS__ENABLED=true): show, export, delete."""


@answers_group.command("show")
@click.argument("answer_id")
@index_option
@friendly_errors
def show(answer_id: str, index_dir: Path | None) -> None:
    """Print one record as JSON."""
    with GuideQA(load_settings(index_dir)) as qa:
        click.echo(qa.archive.get(answer_id).model_dump_json(indent=2))


@answers_group.command("export")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="from this day on")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="file (default stdout)")
@index_option
@friendly_errors
def export(since: dt.datetime | None, fmt: str, out: Path | None, index_dir: Path | None) -> None:
    """Every record since a day, for audit: JSON Lines (whole records) or CSV (one row each)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer) if fmt == "csv" else None
    if writer:
        writer.writerow(_CSV)
    count = 0
    with GuideQA(load_settings(index_dir)) as qa:
        for record in qa.archive.since(_day(since)):
            count += 1
            if writer:
                writer.writerow(_csv_row(record))
            else:
                buffer.write(record.model_dump_json() + "\n")
    if out is None:
        sys.stdout.write(buffer.getvalue())
    else:
        out.write_text(buffer.getvalue(), encoding="utf-8")
    click.echo(f"{count} records exported", err=True)


@answers_group.command("delete")
@click.argument("answer_ids", nargs=-1)
@click.option("--before", type=click.DateTime(["%Y-%m-%d"]), default=None, help="all older records")
@click.option("--all", "everything", is_flag=True, help="every record")
@index_option
@friendly_errors
def delete(
    answer_ids: tuple[str, ...],
    before: dt.datetime | None,
    everything: bool,
    index_dir: Path | None,
) -> None:
    """Delete records (and their feedback): by id, older than a day, or all."""
    if not (answer_ids or before or everything):
        raise click.UsageError("name answer ids, or give --before YYYY-MM-DD or --all")
    with GuideQA(load_settings(index_dir)) as qa:
        deleted = sum(qa.archive.delete(a) for a in answer_ids)
        if before or everything:
            deleted += qa.archive.purge(None if everything else _day(before))
    click.echo(f"{deleted} records deleted")


def _print_replay(result: ReplayResult) -> None:
    diff = result.diff
    click.echo(
        f"Replayed {result.answer_id} on index {result.replayed_version} (recorded on "
        f"{result.recorded_version}; that version is "
        f"{'still kept' if result.recorded_version_available else 'gone'})"
    )
    if diff.identical:
        click.echo("The answer is identical.")
        return
    if diff.bottom_line_changed:
        click.echo(
            f"- bottom line: {diff.bottom_line_before}\n+ bottom line: {diff.bottom_line_after}"
        )
    for text in diff.statements_removed:
        click.echo(f"- {text}")
    for text in diff.statements_added:
        click.echo(f"+ {text}")
    for ref in diff.references_removed:
        click.echo(f"- reference {ref.title}, {ref.section} ({ref.chunk_id})")
    for ref in diff.references_added:
        click.echo(f"+ reference {ref.title}, {ref.section} ({ref.chunk_id})")
    for text in diff.differences_removed:
        click.echo(f"- sources differ on {text}")
    for text in diff.differences_added:
        click.echo(f"+ sources differ on {text}")


@click.command("replay")
@click.argument("answer_id")
@click.option("--exact", is_flag=True, help="on the recorded index version, if still kept")
@index_option
@json_option
@friendly_errors
def replay_command(answer_id: str, exact: bool, index_dir: Path | None, as_json: bool) -> None:
    """Ask a recorded answer's question again; show what changed."""
    with GuideQA(load_settings(index_dir)) as qa:
        result = qa.replay(answer_id, exact)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        _print_replay(result)


@click.group("feedback")
def feedback_group() -> None:
    """Clinician feedback on recorded answers."""


@feedback_group.command("export")
@click.option("--to", "target", type=click.Path(path_type=Path), required=True, help="YAML file")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="from this day on")
@index_option
@friendly_errors
def feedback_export(target: Path, since: dt.datetime | None, index_dir: Path | None) -> None:
    """Reported answers as draft evaluation questions (complete them from the documents)."""
    from guideqa.eval.drafts import drafts_yaml

    with GuideQA(load_settings(index_dir)) as qa:
        text, count = drafts_yaml(qa.archive.since(_day(since)))
    target.write_text(text, encoding="utf-8")
    click.echo(f"{count} draft questions written to {target}")
