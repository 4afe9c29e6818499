"""GuideQA as a Python library: one object to ask, search, ingest and retrieve over an index.

    from guideqa import GuideQA

    with GuideQA.open() as qa:
        answer = qa.ask("What is the maximum daily dose of metformin?")

The CLI and the HTTP service are thin layers over this class. The index is opened on first
use, so `GuideQA.open(index_dir=...).ingest([...])` also builds a new index."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from guideqa.api.archive import AnswerArchive
from guideqa.api.llm import open_composer
from guideqa.api.runtime import index_writer, open_backend, open_conversations, open_searcher
from guideqa.api.settings import Settings, load_settings
from guideqa.index.backend import IndexBackend, SearchIndex
from guideqa.index.builder import IndexWriter, IngestSummary
from guideqa.index.embed_run import BatchRunner, Progress
from guideqa.index.errors import StagingMismatchError
from guideqa.index.models import Hit, SearchFilters
from guideqa.index.versions import current_version, read_manifest, versions_dir
from guideqa.ingest.errors import GuideQAError
from guideqa.ingest.loaders import iter_source_files, load_paths
from guideqa.ingest.models import Document, SourceKind
from guideqa.qa.conversation import ConversationStore
from guideqa.qa.models import Answer
from guideqa.qa.pipeline import AnswerEngine
from guideqa.qa.replay import ReplayResult
from guideqa.qa.streaming import AnswerEvent, AnswerFinished

if TYPE_CHECKING:
    from fastapi import FastAPI

    from guideqa.index.retriever import GuideQARetriever
    from guideqa.ingest.distributed import RayEngine

KindArg = SourceKind | str


class ClosedError(GuideQAError):
    """The GuideQA object was closed."""


def _kinds(kind: KindArg | None, kinds: Sequence[KindArg]) -> tuple[SourceKind, ...]:
    wanted = [*([kind] if kind is not None else []), *kinds]
    return tuple(dict.fromkeys(SourceKind(k) for k in wanted))


class GuideQA:
    """Ask, search, ingest and retrieve over one GuideQA index. Safe to share between threads
    for asks and searches; writes are serialised."""

    def __init__(
        self,
        settings: Settings,
        engine: AnswerEngine[SearchIndex] | None = None,
        conversations: ConversationStore | None = None,
    ) -> None:
        self.settings = settings
        self.conversations: ConversationStore = (
            conversations
            or (engine.conversations if engine is not None else None)
            or open_conversations(settings)
        )
        self._engine = engine
        self.archive = AnswerArchive(settings)
        self._backend: IndexBackend | None = None
        self._writer: IndexWriter | None = None
        self._swap = threading.Lock()
        self._write = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, index_dir: str | Path | None = None, settings: Settings | None = None) -> GuideQA:
        """GuideQA over the index at `index_dir` (default: GUIDEQA_INDEX_DIR or .guideqa/index),
        with `settings` or settings from the environment and `.env`."""
        settings = settings or load_settings()
        if index_dir is not None:
            settings = settings.model_copy(update={"index_dir": Path(index_dir)}).resolved()
        return cls(settings)

    @property
    def backend(self) -> IndexBackend:
        """Where index versions live (local folders or Milvus), connected on first use."""
        if self._backend is None:
            self._backend = open_backend(self.settings)
        return self._backend

    @property
    def engine(self) -> AnswerEngine[SearchIndex]:
        """The answer engine over the published index (opened on first use)."""
        if self._closed:
            raise ClosedError("this GuideQA was closed: open a new one")
        if self._engine is None:
            with self._swap:
                if self._engine is None:
                    index = open_searcher(self.settings, self.backend)
                    engine = AnswerEngine(index, self.settings.qa, self.conversations)
                    composer = open_composer(self.settings, index, engine.knowledge, engine.drugs)
                    if composer is not None:  # GUIDEQA_LLM__*: prose, verified sentence by sentence
                        engine.composer = composer
                    self._engine = engine
        return self._engine

    @property
    def index(self) -> SearchIndex:
        """The index version being served."""
        return self.engine.index

    @property
    def version(self) -> str:
        """Name of the index version being served, e.g. 'v000003'."""
        return self.index.version

    def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        kinds: Sequence[KindArg] = (),
        explain: bool = False,
    ) -> Answer:
        """Answer a clinical question; pass the answer's `conversation_id` for a follow-up.
        With recording on (GUIDEQA_RECORDS__ENABLED), the answer is kept under its
        `answer_id` for `replay`, audit and feedback."""
        wanted = _kinds(None, kinds)
        answer = self.engine.ask(question, conversation_id, wanted, explain)
        self.archive.record(answer, wanted)
        return answer

    def stream(
        self,
        question: str,
        conversation_id: str | None = None,
        kinds: Sequence[KindArg] = (),
        explain: bool = False,
    ) -> Iterator[AnswerEvent]:
        """The answer as it is composed: `AnswerStarted` once the evidence is selected, then
        the bottom line, each row of where sources differ and each section as it is ready (as
        a chat model's sentences are verified), then `AnswerFinished` with the whole answer,
        recorded like `ask`'s. A `FallbackPart` withdraws what was sent before it. An invalid
        question raises on the first `next()`."""
        wanted = _kinds(None, kinds)
        for event in self.engine.stream(question, conversation_id, wanted, explain):
            if isinstance(event, AnswerFinished):
                self.archive.record(event.answer, wanted)
            yield event

    def replay(self, answer_id: str, exact: bool = False) -> ReplayResult:
        """Ask a recorded answer's question again and diff the answers: on the current index,
        or with `exact` on the version it was given from, when that is still kept."""
        engine = self.engine
        return self.archive.replay(
            answer_id,
            self.backend,
            engine,
            lambda index: AnswerEngine(index, self.settings.qa, self.conversations),
            exact,
        )

    def search(
        self,
        query: str,
        k: int = 5,
        filters: SearchFilters | None = None,
        *,
        kind: KindArg | None = None,
        kinds: Sequence[KindArg] = (),
        drug: str | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
    ) -> list[Hit]:
        """Hybrid (dense + BM25) search: passages with their provenance, best first."""
        if filters is None:
            filters = SearchFilters(
                kinds=_kinds(kind, kinds), drug=drug, year_from=year_from, year_to=year_to
            )
        return self.index.search(query, k, filters)

    def document(self, doc_id: str) -> Document | None:
        """One indexed document with its sections, or None."""
        return self.index.document(doc_id)

    def ingest(
        self,
        paths: Sequence[str | Path],
        prune: bool = False,
        source_fingerprint: str | None = None,
        progress: Progress | None = None,
        full: bool = False,
        engine: RayEngine | None = None,
    ) -> IngestSummary:
        """Add or update documents from files or folders, as `guideqa ingest` does: unchanged
        documents are reused, files that fail are reported in `failures`, and a complete new
        version is published atomically (then served by this object). `full` rewrites every
        part of the index even when the change could be appended (a merge). With a started
        `engine` (Ray), files are parsed and chunks embedded on its cluster."""
        folders = [Path(p) for p in paths]
        if engine is not None:
            report = engine.load(folders, self.settings.ingest)
        else:
            report = load_paths(folders, limits=self.settings.ingest)
        failed = {f.path for f in report.failures}
        scanned = [str(p) for p in iter_source_files(folders) if str(p) not in failed]
        return self._write_then_reload(
            lambda writer: writer.ingest(
                report.documents,
                failures=report.failures,
                prune=prune,
                scanned_sources=scanned,
                source_fingerprint=source_fingerprint,
                progress=progress,
                full=full,
            ),
            engine,
        )

    def add_documents(
        self, documents: Sequence[Document], progress: Progress | None = None
    ) -> IngestSummary:
        """Index documents already loaded (an upload); publishes a new version."""
        return self._write_then_reload(lambda writer: writer.ingest(documents, progress=progress))

    def remove(self, doc_ids: Sequence[str]) -> IngestSummary:
        """Remove documents by id; publishes a new version without them."""
        return self._write_then_reload(lambda writer: writer.ingest([], remove=doc_ids))

    def _write_then_reload(
        self, write: Callable[[IndexWriter], IngestSummary], runner: BatchRunner | None = None
    ) -> IngestSummary:
        self._check_staging()
        with self._write:  # one writer per object; other processes wait on the index lock
            if runner is not None:  # embedding elsewhere (Ray): no embedder loaded here
                summary = write(index_writer(self.settings, runner))
            else:
                if self._writer is None:  # loads an ingest embedder only when writing
                    self._writer = index_writer(self.settings)
                summary = write(self._writer)
            self._publish_to_backend()
        if summary.published and self._engine is not None:
            self.reload()
        return summary

    def _check_staging(self) -> None:
        """With a remote backend, a write builds on the local staging index: refuse it when
        that index is not what the backend serves (another writer, with another staging
        folder, published since), instead of publishing a version without their changes."""
        if self.backend.name == "local":
            return
        served = self.backend.published_manifest()
        root = self.settings.index.directory
        name = current_version(root)
        staged = read_manifest(versions_dir(root) / name) if name else None
        if served is None or (
            staged is not None
            and (staged.version, staged.corpus_hash) == (served.version, served.corpus_hash)
        ):
            return
        raise StagingMismatchError(
            f"the staging index at {root} holds {staged.version if staged else 'nothing'}, "
            f"but {self.backend.name} serves {served.version} published from another staging "
            "index: give every writer the same GUIDEQA_INDEX_DIR (shared storage), or write "
            "through the one that published it"
        )

    def _publish_to_backend(self) -> None:
        """With a remote backend, the local index only stages builds: publish its current
        version there (a no-op when that version is already there and served)."""
        if self.backend.name == "local":
            return
        root = self.settings.index.directory
        name = current_version(root)
        if name is not None:
            self.backend.publish(versions_dir(root) / name)

    def reload(self) -> bool:
        """Serve the published version if it is newer than the one served; True if swapped.
        Raises IndexCorruptError when the published version cannot be loaded."""
        with self._swap:
            served = self._engine
            published = self.backend.published_version()
            if served is None or published is None or published == served.index.version:
                return False
            index = self.backend.open(served.index.embedder, published)
            self._engine = AnswerEngine(
                index, self.settings.qa, self.conversations, served.composer
            )
            return True

    def as_retriever(self, k: int = 5, kinds: Sequence[KindArg] = ()) -> GuideQARetriever:
        """A LangChain `BaseRetriever` over this index (it follows newly published versions)."""
        from guideqa.index.retriever import GuideQARetriever

        return GuideQARetriever(
            searcher=self, k=k, filters=SearchFilters(kinds=_kinds(None, kinds))
        )

    def asgi_app(self) -> FastAPI:
        """The HTTP API and web page over this object, to serve (`uvicorn.run(app)`) or to mount
        in another FastAPI app. Its lifespan polls for newly published index versions."""
        from guideqa.api.app import create_app

        return create_app(self.settings, qa=self)

    def close(self) -> None:
        """Release the index; later calls raise ClosedError."""
        with self._swap:
            if self._engine is not None:
                self._engine.index.close()
            if self._backend is not None:
                self._backend.close()
            self.archive.close()
            self._engine, self._writer, self._closed = None, None, True
            self._backend = None

    def __enter__(self) -> GuideQA:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
