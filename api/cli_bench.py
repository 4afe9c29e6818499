"""`guideqa bench`: speed and size, measured on this machine, written to eval/BENCHMARKS.md."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from guideqa.api.cli_common import friendly_errors, index_option
from guideqa.api.library import GuideQA
from guideqa.api.settings import Settings, load_settings
from guideqa.eval.bench_report import STEPS
from guideqa.index.hybrid import HybridIndex
from guideqa.ingest.errors import GuideQAError

if TYPE_CHECKING:
    from guideqa.eval.bench_suite import BenchStep


@dataclass(frozen=True)
class _Options:
    sample: int | None
    seconds: float
    sizes: list[int]
    scale_dir: Path


def _local_index(qa: GuideQA) -> HybridIndex:
    index = qa.index
    if not isinstance(index, HybridIndex):
        raise GuideQAError(
            "guideqa bench measures the local index: unset GUIDEQA_INDEX__BACKEND (the "
            "'backends' step copies the local index into Milvus Lite itself)"
        )
    return index


def _run_step(name: str, settings: Settings, qa: GuideQA, options: _Options) -> BenchStep:
    from guideqa.eval import bench_cluster as cluster
    from guideqa.eval import bench_suite as suite

    if name == "ingest":
        return suite.bench_ingest(settings.embedding, _local_index(qa), options.sample)
    if name == "ask":
        return suite.bench_ask(qa.engine, _local_index(qa))  # type: ignore[arg-type]
    if name == "ray":
        return cluster.bench_ray(settings.embedding, _local_index(qa), options.sample)
    if name == "backends":
        return cluster.bench_backends(settings.index, _local_index(qa), settings.qa)
    if name == "http":
        return suite.bench_http(settings.index.directory, options.seconds)
    if name == "scale":
        return suite.bench_scale(settings.index, options.sizes, options.scale_dir, keep=True)
    kept = sorted(options.scale_dir.glob("scale-*/CURRENT"), key=lambda p: int(p.parent.name[6:]))
    return suite.bench_startup([settings.index.directory, *([kept[-1].parent] if kept else [])])


@click.command(name="bench")
@click.argument("what", type=click.Choice([*STEPS, "all"]), default="all")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Write JSON per step here."
)
@click.option(
    "--sample",
    type=int,
    default=2000,
    show_default=True,
    help="ingest: chunks embedded per backend (0 = all).",
)
@click.option(
    "--seconds", type=float, default=20.0, show_default=True, help="http: seconds per client level."
)
@click.option(
    "--sizes", default="100000,300000,1000000", show_default=True, help="scale: chunk counts."
)
@click.option(
    "--scale-dir",
    type=click.Path(path_type=Path),
    default=Path(".guideqa/scale"),
    show_default=True,
    help="scale: where synthetic indexes are built (and kept for startup).",
)
@click.option("--no-write", is_flag=True, help="Do not update eval/BENCHMARKS.md.")
@index_option
@friendly_errors
def bench_command(
    what: str,
    out: Path | None,
    sample: int,
    seconds: float,
    sizes: str,
    scale_dir: Path,
    no_write: bool,
    index_dir: Path | None,
) -> None:
    """Measure ingest, ask, http, scale and startup; print tables, write JSON and BENCHMARKS.md.

    `all` takes long: the 1M-chunk scale step alone builds a million-chunk index (see
    eval/BENCHMARKS.md for how long on this machine)."""
    from guideqa.eval.bench_report import markdown_table, update_benchmarks

    settings = load_settings(index_dir)
    qa = GuideQA(settings)
    chunk_counts = [int(s) for s in sizes.split(",") if s.strip()]
    options = _Options(sample or None, seconds, chunk_counts, scale_dir)
    done: list[BenchStep] = []
    for name in STEPS if what == "all" else (what,):
        click.echo(f"# {name}", err=True)
        step = _run_step(name, settings, qa, options)
        done.append(step)
        click.echo(f"## {name}\n\n{markdown_table(step)}\n")
        for note in step.notes:
            click.echo(f"- {note}")
        if out:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"bench-{name}.json").write_text(step.to_json(), encoding="utf-8")
        if not no_write:
            update_benchmarks([step])
    sys.stdout.flush()
