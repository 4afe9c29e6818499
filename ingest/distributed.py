"""`--engine ray`: parse source files in parallel Ray tasks and embed in a pool of actors.

Ray Data reads the list of files and parses them in tasks (`load_files_per_task` files each);
embedding runs in `workers` actors, each holding one ONNX Runtime session loaded once, and
hands back whole batches as they finish. What is done with the documents and the vectors
(the content-hash plan, the journal that makes a killed ingest resumable, publishing) is the
same code as the local engine: only who parses and who embeds changes. Ray is imported here
only."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guideqa.ingest.embedding import OnnxEmbedder, Vectors
from guideqa.ingest.errors import IngestError, ModelError
from guideqa.ingest.loaders import LoadReport, iter_source_files, load_paths
from guideqa.ingest.models import Document
from guideqa.ingest.settings import EmbeddingSettings, IngestLimits, RaySettings

log = logging.getLogger("guideqa.ingest")


def _load_files(batch: dict[str, Any], limits: IngestLimits) -> dict[str, Any]:
    """A Ray task: parse some files; documents and failures come back as JSON."""
    report = load_paths([Path(str(p)) for p in batch["path"]], limits=limits)
    failures = [
        {"path": f.path, "reason": f.reason, "hint": f.hint, "kind": type(f).__name__}
        for f in report.failures
    ]
    return {
        "first": [int(min(batch["index"]))],
        "documents": [[d.model_dump_json() for d in report.documents]],
        "failures": [failures],
    }


class _EmbeddingActor:
    """One Ray actor: one ONNX Runtime session on one core, loaded once."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.embedder = OnnxEmbedder(settings, threads=1)
        self.embedder.warm_up()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        vectors = [self.embedder.embed([str(t) for t in texts]) for texts in batch["texts"]]
        return {"position": batch["position"], "vectors": vectors}


class RayEngine:
    """Parses and embeds on a Ray cluster (a local one by default)."""

    def __init__(self, settings: RaySettings, embedding: EmbeddingSettings) -> None:
        self.settings = settings
        self.embedding = embedding

    def start(self) -> None:
        """Start a local Ray, or join the cluster at `settings.address`."""
        import ray
        import ray.data

        if ray.is_initialized():
            return
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # GuideQA reports progress itself
        context.print_on_execution_start = False
        logging.getLogger("ray").setLevel(logging.WARNING)
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        if self.settings.address is None:
            ray.init(
                num_cpus=os.cpu_count() or 2,
                _node_ip_address="127.0.0.1",  # a local cluster listens on loopback only
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        else:
            ray.init(address=self.settings.address, log_to_driver=False)

    def stop(self) -> None:
        """Leave (and, when local, stop) Ray."""
        import ray

        ray.shutdown()

    def load(self, paths: Sequence[Path], limits: IngestLimits) -> LoadReport:
        """Every file under the paths, parsed in parallel tasks; failures as locally."""
        import ray.data

        files = [str(p) for p in iter_source_files(list(paths))]
        if not files:
            return LoadReport((), (), 0)
        items = [{"path": f, "index": i} for i, f in enumerate(files)]
        tasks = -(-len(files) // self.settings.load_files_per_task)
        dataset = ray.data.from_items(items, override_num_blocks=tasks).map_batches(
            _load_files,  # type: ignore[arg-type]  # Ray's batch types are unions of frames
            fn_kwargs={"limits": limits},
            batch_size=self.settings.load_files_per_task,
            num_cpus=1,
        )
        documents: list[Document] = []
        failures: list[IngestError] = []
        # the order of a local load (files in order), whatever order the tasks finished in
        for row in sorted(_rows(dataset, "parse the files"), key=lambda r: int(r["first"])):
            documents.extend(Document.model_validate_json(d) for d in row["documents"])
            failures.extend(_failure(f) for f in row["failures"])
        return LoadReport(tuple(documents), tuple(failures), len(files))

    def run(self, batches: list[list[str]]) -> Iterator[tuple[int, Vectors]]:
        """Embed batches in the actor pool; each comes back as soon as it is done."""
        import ray.data

        if not batches:
            return
        from guideqa.ingest.onnx_export import ensure_onnx_model

        ensure_onnx_model(self.embedding)  # exported once here, not by every actor at once
        # a block per batch: otherwise a few large blocks leave actors idle
        dataset = ray.data.from_items(
            [{"position": i, "texts": texts} for i, texts in enumerate(batches)],
            override_num_blocks=len(batches),
        ).map_batches(
            _EmbeddingActor,
            fn_constructor_kwargs={"settings": self.embedding},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=self.settings.workers),
            num_cpus=1,
        )
        for row in _rows(dataset, "embed the chunks"):
            yield int(row["position"]), np.asarray(row["vectors"], dtype=np.float32)


def _rows(dataset: Any, action: str) -> Iterator[dict[str, Any]]:
    """The dataset's rows; a failed Ray task or actor becomes one clear error (its remote
    traceback goes to the log, not to the user)."""
    from ray.exceptions import RayError

    try:
        yield from dataset.iter_rows()
    except RayError as exc:
        log.error("Ray could not %s", action, exc_info=exc)
        cause = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"the Ray cluster could not {action} ({cause}); nothing was published: fix the "
            "cause and run the ingest again (finished batches are kept in the journal)"
        ) from exc


def _failure(data: dict[str, str]) -> IngestError:
    from guideqa.ingest import errors

    kind = getattr(errors, data["kind"], IngestError)
    if not (isinstance(kind, type) and issubclass(kind, IngestError)):
        kind = IngestError
    return kind(data["path"], data["reason"], data["hint"])
