"""The `guideqa` command line: ingest, build, search, info, versions."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guideqa.api.cli_answers import answers_group, feedback_group, replay_command
from guideqa.api.cli_bench import bench_command
from guideqa.api.cli_cluster import migrate_command, ray_engine
from guideqa.api.cli_common import friendly_errors, index_option, json_option, progress_bar
from guideqa.api.cli_eval import eval_command
from guideqa.api.library import GuideQA
from guideqa.api.runtime import limit_malloc_arenas
from guideqa.api.settings import Settings, load_settings
from guideqa.index.hybrid import settings_id
from guideqa.index.models import Hit, SearchFilters
from guideqa.index.plan import IngestSummary
from guideqa.index.versions import (
    current_version,
    current_version_dir,
    read_manifest,
    version_problem,
    versions_dir,
)
from guideqa.ingest.loaders import iter_source_files
from guideqa.ingest.models import SourceKind

if TYPE_CHECKING:
    from guideqa.ingest.distributed import RayEngine


@click.group()
@click.version_option(package_name="guideqa")
def main() -> None:
    """GuideQA: clinical evidence question answering over guidelines, labels and research."""
    import logging

    # library chatter (bm25s debug lines, onnxruntime quantiser advice) is not for users
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    for name in ("bm25s", "onnxruntime", "root"):
        logging.getLogger(name).setLevel(logging.ERROR)


def source_fingerprint(paths: list[Path]) -> str:
    """SHA-256 over the names and contents of every source file under the paths."""
    digest = hashlib.sha256()
    for path in iter_source_files(paths):
        digest.update(str(path).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _run_ingest(
    settings: Settings,
    paths: list[Path],
    prune: bool,
    fingerprint: str | None,
    full: bool = False,
    engine: RayEngine | None = None,
) -> IngestSummary:
    click.echo(f"Reading {', '.join(map(str, paths))} ...", err=True)
    qa = GuideQA(settings)
    if engine is None:
        return qa.ingest(paths, prune, fingerprint, progress_bar("Embedding"), full)
    engine.start()
    try:
        return qa.ingest(paths, prune, fingerprint, progress_bar("Embedding"), full, engine)
    finally:
        engine.stop()


def _print_summary(summary: IngestSummary, as_json: bool) -> None:
    if as_json:
        data = {
            **summary.__dict__,
            "failures": [{"path": f.path, "reason": f.reason} for f in summary.failures],
        }
        click.echo(json.dumps(data, indent=2, default=str))
        return
    state = f"published {summary.version}" if summary.published else "index unchanged"
    resumed = (
        f", {summary.resumed_chunks} taken from the journal of a killed build"
        if summary.resumed_chunks
        else ""
    )
    click.echo(
        f"{state}: {summary.documents} documents, {summary.chunks} chunks "
        f"({summary.embedded_chunks} embedded{resumed}) in {summary.seconds:.1f}s"
    )
    click.echo(
        f"  added {len(summary.added)}, changed {len(summary.changed)}, "
        f"unchanged {len(summary.unchanged)}, removed {len(summary.removed)}"
    )
    for kind, count in summary.counts_by_kind.items():
        click.echo(f"  {kind:<10} {count:>6} documents")
    for failure in summary.failures:
        click.echo(f"  FAILED {failure}", err=True)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Remove documents whose source files are gone.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="ray: parse files in Ray tasks and embed in a pool of Ray actors",
)
@click.option(
    "--ray-address",
    default=None,
    help="join this Ray cluster ('auto', ray://host:10001); default: start one here",
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="embedding actors")
@index_option
@json_option
@friendly_errors
def ingest(
    paths: tuple[Path, ...],
    prune: bool,
    engine: str,
    ray_address: str | None,
    workers: int | None,
    index_dir: Path | None,
    as_json: bool,
) -> None:
    """Add or update documents from files or folders (format detected per file)."""
    settings = load_settings(index_dir)
    runner = None
    if engine == "ray":
        runner = ray_engine(settings, ray_address, workers)
    summary = _run_ingest(settings, list(paths), prune, None, engine=runner)
    _print_summary(summary, as_json)
    if summary.failures:  # bad input: the good files are indexed, the bad ones named above
        sys.exit(2)


@main.command()
@click.argument("corpus", default="corpus", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--rebuild",
    is_flag=True,
    help="Rebuild every part of the index, even if the corpus is unchanged (merges appended rows).",
)
@index_option
@friendly_errors
def build(corpus: Path, rebuild: bool, index_dir: Path | None) -> None:
    """Build the index from a corpus folder if it is missing or out of date."""
    settings = load_settings(index_dir)
    fingerprint = source_fingerprint([corpus])
    root = settings.index.directory
    published = current_version(root)
    # a broken CURRENT is rebuilt even when the corpus is unchanged
    if not rebuild and published and version_problem(versions_dir(root) / published) is None:
        manifest = read_manifest(versions_dir(root) / published)
        same_settings = manifest.settings_id == settings_id(settings.embedding, settings.chunking)
        if same_settings and manifest.source_fingerprint == fingerprint:
            click.echo(
                f"Index {manifest.version} at {root} is up to date "
                f"({manifest.documents} documents, {manifest.chunks} chunks)."
            )
            return
    summary = _run_ingest(settings, [corpus], True, fingerprint, full=rebuild)
    _print_summary(summary, False)


def _hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "doc_id": hit.doc_id,
        "chunk_id": hit.chunk_id,
        "kind": hit.kind.value,
        "title": hit.title,
        "issuer": hit.issuer,
        "year": hit.year,
        "section": hit.section,
        "section_path": list(hit.section_path),
        "pages": list(hit.pages) if hit.pages else None,
        "url": hit.url,
        "identifier": hit.identifier,
        "score": round(hit.score, 6),
        "dense_score": hit.dense_score,
        "lexical_score": hit.lexical_score,
        "text": hit.text,
    }


@main.command()
@click.argument("query")
@click.option("--kind", "kinds", multiple=True, type=click.Choice([k.value for k in SourceKind]))
@click.option("--k", "k", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--drug", default=None, help="Only labels of this drug (generic or brand name).")
@click.option("--year-from", type=int, default=None)
@click.option("--year-to", type=int, default=None)
@index_option
@json_option
@friendly_errors
def search(
    query: str,
    kinds: tuple[str, ...],
    k: int,
    drug: str | None,
    year_from: int | None,
    year_to: int | None,
    index_dir: Path | None,
    as_json: bool,
) -> None:
    """Hybrid (dense + BM25) search over the index."""
    if not query.strip():
        raise click.UsageError("QUERY is empty: give the words to search for")
    filters = SearchFilters(
        kinds=tuple(SourceKind(k) for k in kinds), drug=drug, year_from=year_from, year_to=year_to
    )
    hits = GuideQA(load_settings(index_dir)).search(query, k, filters)
    if as_json:
        click.echo(json.dumps([_hit_json(h) for h in hits], indent=2))
        return
    for rank, hit in enumerate(hits, start=1):
        pages = f", p. {hit.pages[0]}-{hit.pages[1]}" if hit.pages else ""
        click.echo(
            f"{rank}. [{hit.kind.value}] {hit.title} ({hit.year or 'n.d.'}) "
            f"- {hit.section}{pages}  score={hit.score:.4f}"
        )
        click.echo(f"   {hit.text[:300]}{'...' if len(hit.text) > 300 else ''}")


@main.command()
@index_option
@json_option
@friendly_errors
def info(index_dir: Path | None, as_json: bool) -> None:
    """Show the published index's manifest and counts by kind."""
    settings = load_settings(index_dir)
    manifest = read_manifest(current_version_dir(settings.index.directory))
    if as_json:
        click.echo(manifest.model_dump_json(indent=2))
        return
    click.echo(
        f"Index {settings.index.directory} version {manifest.version} "
        f"(built {manifest.created:%Y-%m-%d %H:%M} UTC in {manifest.build_seconds}s)"
    )
    click.echo(f"  {manifest.documents} documents, {manifest.chunks} chunks")
    for kind, count in manifest.counts_by_kind.items():
        click.echo(f"  {kind:<10} {count:>6}")
    click.echo(f"  embedding {manifest.embedding}")
    click.echo(f"  chunking  {manifest.chunking}; dense index {manifest.dense}")
    click.echo(f"  settings id {manifest.settings_id}; corpus hash {manifest.corpus_hash[:16]}")


@main.command()
@index_option
@json_option
@friendly_errors
def versions(index_dir: Path | None, as_json: bool) -> None:
    """List the index versions kept (the published one is marked *): folders on disk, or
    Milvus collections with GUIDEQA_INDEX__BACKEND=milvus."""
    backend = GuideQA(load_settings(index_dir)).backend
    current = backend.published_version()
    manifests = backend.versions()
    if as_json:
        click.echo(
            json.dumps(
                [{**m.model_dump(mode="json"), "current": m.version == current} for m in manifests],
                indent=2,
            )
        )
        return
    for m in manifests:
        mark = "*" if m.version == current else " "
        click.echo(
            f"{mark} {m.version}  {m.created:%Y-%m-%d %H:%M}  {m.documents} docs  "
            f"{m.chunks} chunks  {m.counts_by_kind}"
        )


@main.command()
@click.argument("question")
@click.option(
    "--conversation",
    "conversation_file",
    type=click.Path(path_type=Path),
    default=None,
    help="A JSON file holding the conversation; follow-ups read and extend it.",
)
@click.option("--kind", "kinds", multiple=True, type=click.Choice([k.value for k in SourceKind]))
@click.option(
    "--explain",
    is_flag=True,
    help="Show each statement's score breakdown and why it was chosen, and the rejected "
    "candidates with the reason.",
)
@click.option(
    "--stream",
    is_flag=True,
    help="Print the answer's parts as JSON lines ({event, data}) as each is ready, as "
    "POST /v1/ask sends them as Server-Sent Events.",
)
@index_option
@json_option
@friendly_errors
def ask(
    question: str,
    conversation_file: Path | None,
    kinds: tuple[str, ...],
    explain: bool,
    stream: bool,
    index_dir: Path | None,
    as_json: bool,
) -> None:
    """Answer a clinical question from the indexed evidence (Markdown, or --json)."""
    from guideqa.qa.conversation import FileConversationStore
    from guideqa.qa.render import render_markdown

    settings = load_settings(index_dir)
    store = FileConversationStore(conversation_file) if conversation_file else None
    qa = GuideQA(settings, conversations=store)
    conversation_id = store.conversation_id if store else None
    if stream:
        from guideqa.api.streaming import payloads

        for event in qa.stream(question, conversation_id, kinds, explain):
            for name, data in payloads(event):
                click.echo(json.dumps({"event": name, "data": data}, ensure_ascii=False))
        return
    answer = qa.ask(question, conversation_id, kinds, explain)
    click.echo(answer.model_dump_json(indent=2) if as_json else render_markdown(answer))


@main.command()
@click.option("--host", default=None, help="Interface to bind (default from settings: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from settings: 8000).")
@index_option
@friendly_errors
def serve(host: str | None, port: int | None, index_dir: Path | None) -> None:
    """Serve the HTTP API and the web page on the published index."""
    import uvicorn

    from guideqa.api.app import create_app

    settings = load_settings(index_dir)
    if settings.server.malloc_arenas:  # before any worker thread exists
        limit_malloc_arenas(settings.server.malloc_arenas)
    app = create_app(settings)
    server = settings.server
    click.echo(
        f"GuideQA on http://{host or server.host}:{port or server.port} "
        f"(index {settings.index.directory})",
        err=True,
    )
    uvicorn.run(
        app,
        host=host or server.host,
        port=port or server.port,
        log_level=server.log_level,
        log_config=None,  # api.logs writes JSON lines; uvicorn's own config would undo that
        timeout_keep_alive=server.timeout_keep_alive,
        limit_concurrency=server.limit_concurrency,
        h11_max_incomplete_event_size=server.max_header_bytes,
        timeout_graceful_shutdown=10,
    )


def run() -> None:
    """Console entry point."""
    main()


main.add_command(eval_command)
main.add_command(bench_command)
main.add_command(migrate_command)
main.add_command(answers_group)
main.add_command(replay_command)
main.add_command(feedback_group)


if __name__ == "__main__":
    run()
