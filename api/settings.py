"""The one root Settings object, built at the edge from environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from guideqa.index.settings import IndexSettings
from guideqa.ingest.settings import ChunkingSettings, EmbeddingSettings, IngestLimits, RaySettings
from guideqa.qa.settings import LLMSettings, QASettings


class ServerSettings(BaseModel):
    """The HTTP service."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = 8000
    max_question_chars: int = Field(default=2000, ge=10)
    cors_origins: tuple[str, ...] = ()
    log_level: str = "info"
    log_questions: bool = Field(
        default=False, description="log question text (off: clinicians paste patient details)"
    )
    max_conversations: int = 1000
    conversation_store: str = Field(
        default="memory",
        pattern=r"^(memory|rediss?://.+)$",
        description="memory (one process), or redis://host:port/db shared by API replicas so "
        "that a follow-up may land on any of them",
    )
    conversation_idle_seconds: float = 3600.0
    max_concurrent_answers: int = Field(default=2, description="CPU-bound answers at once")
    max_upload_bytes: int = 25 * 1024 * 1024
    upload_types: tuple[str, ...] = (
        ".pdf",
        ".md",
        ".markdown",
        ".txt",
        ".json",
        ".jsonl",
        ".ndjson",
        ".xml",
        ".nbib",
        ".zip",
    )
    reload_interval_seconds: float = Field(default=1.0, description="index version poll")
    write_wait_seconds: float = Field(default=30.0, description="wait for another writer")
    max_ask_body_bytes: int = Field(default=16_384, gt=0, description="body limit of /v1/ask")
    max_body_bytes: int = Field(default=65_536, gt=0, description="body limit of other routes")
    rate_limit_per_minute: float = Field(
        default=600.0, gt=0, description="requests per minute per client address"
    )
    rate_limit_burst: int = Field(default=120, gt=0, description="requests a client may burst")
    rate_limit_exempt: tuple[str, ...] = Field(
        default=(), description="client addresses without a rate limit (e.g. a load balancer)"
    )
    max_queued_answers: int = Field(
        default=64, ge=0, description="answers waiting for a free slot; more get 503"
    )
    queue_timeout_seconds: float = Field(
        default=15.0, gt=0, description="how long an answer waits for a slot before a 503"
    )
    max_turns: int = Field(default=50, gt=0, description="turns per conversation")
    upload_parse_seconds: float = Field(
        default=180.0, gt=0, description="time to parse one upload before giving up"
    )
    timeout_keep_alive: int = Field(default=5, gt=0, description="idle keep-alive, seconds")
    max_header_bytes: int = Field(
        default=16_384, gt=0, description="request line and headers; larger get 431/400"
    )
    limit_concurrency: int = Field(
        default=256, gt=0, description="connections served at once; more get 503"
    )
    malloc_arenas: int = Field(
        default=2,
        ge=0,
        description="glibc malloc arenas of the server process (0: glibc's default); more "
        "arenas hold on to memory freed by index swaps",
    )
    min_token_length: int = Field(
        default=16, ge=1, description="a shorter GUIDEQA_API_TOKEN leaves writes disabled"
    )


class RecordSettings(BaseModel):
    """Answer records (permalinks, replay, audit export, feedback). Off by default: questions
    may carry protected health information."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = Field(
        default=False, description="store every answer (GUIDEQA_RECORDS__ENABLED)"
    )
    path: Path = Field(default=Path(".guideqa/answers.sqlite"), description="the SQLite file")
    store: str = Field(
        default="sqlite",
        pattern=r"^(sqlite|rediss?://.+)$",
        description="sqlite (the file at `path`), or redis://host:port/db shared by API "
        "replicas so that a permalink works whichever replica recorded the answer",
    )
    retention_days: float = Field(
        default=30.0, gt=0, description="records and their feedback are deleted after this"
    )
    redact: bool = Field(
        default=True,
        description="replace obvious identifiers (dates of birth, record numbers, phone numbers, "
        "e-mails) in recorded questions: best effort, not de-identification",
    )
    read_token: SecretStr | None = Field(
        default=None,
        description="bearer token that may read records and feedback (the API token may too); "
        "a permalink alone shows nothing",
    )
    max_comment_chars: int = Field(default=2000, gt=0, description="feedback free text")


class Settings(BaseSettings):
    """All GuideQA settings. Nested fields: GUIDEQA_EMBEDDING__BACKEND=torch, ..."""

    model_config = SettingsConfigDict(
        env_prefix="GUIDEQA_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    index_dir: Path | None = Field(default=None, description="shortcut for index.directory")
    api_token: SecretStr | None = Field(
        default=None, description="GUIDEQA_API_TOKEN: bearer token of the write endpoints"
    )
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    ingest: IngestLimits = Field(default_factory=IngestLimits)
    ray: RaySettings = Field(default_factory=RaySettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    qa: QASettings = Field(default_factory=QASettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    records: RecordSettings = Field(default_factory=RecordSettings)

    def write_token(self) -> str | None:
        """The token that enables the write endpoints: none when unset, empty or too short."""
        if self.api_token is None:
            return None
        token = self.api_token.get_secret_value().strip()
        return token if len(token) >= self.server.min_token_length else None

    def read_tokens(self) -> tuple[str, ...]:
        """Tokens that may read answer records: the read token and the write token."""
        found = [self.write_token()]
        if self.records.read_token is not None:
            token = self.records.read_token.get_secret_value().strip()
            if len(token) >= self.server.min_token_length:
                found.append(token)
        return tuple(t for t in found if t)

    def resolved(self) -> Settings:
        """A copy where GUIDEQA_INDEX_DIR (or --index) has been applied to the index section."""
        if self.index_dir is None:
            return self
        index = self.index.model_copy(update={"directory": self.index_dir})
        return self.model_copy(update={"index": index, "index_dir": None})


def load_settings(index_dir: Path | None = None) -> Settings:
    """Settings from the environment, with an explicit index directory winning."""
    settings = Settings()
    if index_dir is not None:
        settings = settings.model_copy(update={"index_dir": index_dir})
    return settings.resolved()
