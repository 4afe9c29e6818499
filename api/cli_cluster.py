"""Commands for running past one machine: `guideqa migrate --to milvus`, the Ray engine."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from guideqa.api.cli_common import friendly_errors, index_option, json_option
from guideqa.api.settings import Settings, load_settings
from guideqa.index.errors import IndexNotFoundError
from guideqa.index.settings import BackendKind
from guideqa.index.versions import current_version, version_problem, versions_dir

if TYPE_CHECKING:
    from guideqa.ingest.distributed import RayEngine


def ray_engine(settings: Settings, address: str | None, workers: int | None) -> RayEngine:
    """The Ray engine for `ingest --engine ray`, options over GUIDEQA_RAY__* settings."""
    from guideqa.ingest.distributed import RayEngine

    ray = settings.ray.model_copy(
        update={
            "address": address if address is not None else settings.ray.address,
            "workers": workers if workers is not None else settings.ray.workers,
        }
    )
    return RayEngine(ray, settings.embedding)


@click.command("migrate")
@click.option(
    "--to", "target", type=click.Choice(["milvus"]), required=True, help="the backend to fill"
)
@click.option("--version", "version", default=None, help="local version to copy (default: CURRENT)")
@index_option
@json_option
@friendly_errors
def migrate_command(
    target: str, version: str | None, index_dir: Path | None, as_json: bool
) -> None:
    """Copy a local index version into Milvus and serve it there: the stored vectors and BM25
    weights are copied, nothing is embedded again. Milvus is GUIDEQA_INDEX__MILVUS_URI."""
    from guideqa.index.hybrid import settings_id
    from guideqa.index.milvus_backend import MilvusBackend

    settings = load_settings(index_dir)
    root = settings.index.directory
    name = version or current_version(root)
    folder = versions_dir(root) / (name or "")
    problem = version_problem(folder) if name else "no version is published"
    if problem is not None:
        raise IndexNotFoundError(
            f"cannot migrate {name or 'the index'} at {root}: {problem}; "
            "build it first with `guideqa build`"
        )
    index = settings.index.model_copy(update={"backend": BackendKind(target)})
    backend = MilvusBackend(index, settings_id(settings.embedding, settings.chunking))
    started = time.perf_counter()
    try:
        published = backend.publish(folder, allow_older=version is not None)
        served = backend.published_version()
    finally:
        backend.close()
    result = {
        "version": published,
        "serving": served,
        "milvus_uri": settings.index.milvus_uri,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        f"migrated {published} to Milvus at {result['milvus_uri']} in {result['seconds']}s; "
        f"serving {served}. Set GUIDEQA_INDEX__BACKEND=milvus to answer from it."
    )
