"""Shared fixtures: real sample files, a network guard, and indexes built with the fake embedder."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from guideqa.api.settings import Settings
from guideqa.index.builder import IndexWriter
from guideqa.index.hybrid import HybridIndex, open_index
from guideqa.index.settings import IndexSettings
from guideqa.ingest.chunking import SectionChunker, model_token_counter
from guideqa.ingest.convert.ngc import ngc_to_markdown
from guideqa.ingest.convert.uspstf import group_by_topic, topic_to_markdown
from guideqa.ingest.embedding import HashingEmbedder, create_embedder
from guideqa.ingest.loaders import load_paths
from guideqa.ingest.settings import ChunkingSettings, EmbeddingBackend, EmbeddingSettings

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must never reach the network: any non-loopback connection fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and (
            host.startswith("127.") or host in {"localhost", "::1"} or self.family == socket.AF_UNIX
        ):
            return real_connect(self, address)  # type: ignore[arg-type]
        raise RuntimeError(f"network access attempted in a test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def fake_settings(index_dir: Path) -> Settings:
    """Settings that use the deterministic hashing embedder and an index under tmp."""
    return Settings(
        embedding=EmbeddingSettings(backend=EmbeddingBackend.HASHING),
        chunking=ChunkingSettings(),
        index=IndexSettings(directory=index_dir),
    )


@pytest.fixture(scope="session")
def token_counter():  # type: ignore[no-untyped-def]
    return model_token_counter()


def make_writer(settings: Settings, counter) -> IndexWriter:  # type: ignore[no-untyped-def]
    return IndexWriter(
        settings.index,
        settings.embedding,
        settings.chunking,
        HashingEmbedder(),
        SectionChunker(settings.chunking, counter),
    )


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, token_counter) -> HybridIndex:  # type: ignore[no-untyped-def]
    """Every valid sample file under tests/data, indexed with the fake embedder."""
    root = tmp_path_factory.mktemp("sample-index")
    settings = fake_settings(root)
    sources = [DATA / d for d in ("pdf", "openfda", "spl", "pubmed", "markdown")]
    report = load_paths(sources)
    assert not report.failures, report.failures
    make_writer(settings, token_counter).ingest(report.documents)
    return open_index(settings.index, settings.embedding, settings.chunking, HashingEmbedder())


MODEL_CACHE = Path(".guideqa/models").resolve()  # shared with `make run`: exported once


def real_settings(index_dir: Path) -> Settings:
    """Default settings (real ONNX model) with the index under tmp."""
    return Settings(
        embedding=EmbeddingSettings(cache_dir=MODEL_CACHE),
        index=IndexSettings(directory=index_dir),
    )


def write_qa_corpus(folder: Path) -> None:
    """Real sample files plus a converted NGC guideline and a USPSTF topic."""
    for name in ("pdf", "openfda", "spl", "pubmed", "markdown"):
        shutil.copytree(DATA / name, folder / name)
    (folder / "pdf" / "cdc_opioid_2022_pages19-24.pdf.meta.yaml").write_text(
        "id: cdc-opioid-prescribing-2022\nissuer: Centers for Disease Control and Prevention\n"
        "date: 2022-11-04\nsupersedes: ngc-10953\n"
    )
    xml = (DATA / "convert" / "ngc-10953.xml").read_bytes()
    (folder / "ngc-10953.md").write_text(ngc_to_markdown(xml, "ngc-10953")[0])
    data = json.loads((DATA / "convert" / "uspstf_osteoporosis.json").read_text())
    for topic, records in group_by_topic(data["specificRecommendations"]).items():
        (folder / "uspstf-osteoporosis.md").write_text(topic_to_markdown(topic, records)[0])


def write_discrepancy_corpus(folder: Path) -> None:
    """Guidelines that really disagree (VA/DoD hypertension vs CKD blood-pressure goals; VA/DoD
    vs Washington L&I opioid dose thresholds), CDC 2016 and the CDC 2022 pages superseding it."""
    shutil.copytree(DATA / "discrepancies" / "guidelines", folder / "guidelines")
    shutil.copy(DATA / "pdf" / "cdc_opioid_2022_pages19-24.pdf", folder)
    (folder / "cdc_opioid_2022_pages19-24.pdf.meta.yaml").write_text(
        "id: cdc-opioid-prescribing-2022\nissuer: Centers for Disease Control and Prevention\n"
        "date: 2022-11-04\nsupersedes: ngc-10953\n"
    )
    xml = (DATA / "convert" / "ngc-10953.xml").read_bytes()
    (folder / "ngc-10953.md").write_text(ngc_to_markdown(xml, "ngc-10953")[0])


def build_real_index(tmp_path_factory: pytest.TempPathFactory, token_counter, write) -> Settings:  # type: ignore[no-untyped-def]
    """A real-model index over the corpus `write` puts in a fresh folder."""
    corpus = tmp_path_factory.mktemp("qa-corpus")
    write(corpus)
    settings = real_settings(tmp_path_factory.mktemp("qa-index"))
    writer = IndexWriter(
        settings.index,
        settings.embedding,
        settings.chunking,
        create_embedder(settings.embedding, for_ingest=True),
        SectionChunker(settings.chunking, token_counter),
    )
    report = load_paths([corpus])
    assert not report.failures, report.failures
    writer.ingest(report.documents)
    return settings


@pytest.fixture(scope="session")
def real_index_settings(tmp_path_factory: pytest.TempPathFactory, token_counter) -> Settings:  # type: ignore[no-untyped-def]
    """A small real index (real model) over the sample corpus, built once per session."""
    return build_real_index(tmp_path_factory, token_counter, write_qa_corpus)


@pytest.fixture(scope="session")
def discrepancy_index_settings(tmp_path_factory: pytest.TempPathFactory, token_counter) -> Settings:  # type: ignore[no-untyped-def]
    """A small real index of guidelines that disagree, built once per session."""
    return build_real_index(tmp_path_factory, token_counter, write_discrepancy_corpus)


@pytest.fixture(scope="session")
def real_index(real_index_settings: Settings) -> HybridIndex:
    settings = real_index_settings
    return open_index(
        settings.index, settings.embedding, settings.chunking, create_embedder(settings.embedding)
    )


def free_port() -> int:
    """A loopback port nothing listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real redis-server on a free loopback port, for this test session only."""
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: `make test` installs it (Debian redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)
