"""The one root Settings object, built at the edge from environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.settings import IndexSettings
from ingest.settings import ChunkingSettings, EmbeddingSettings
from qa.settings import QASettings


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
    index: IndexSettings = Field(default_factory=IndexSettings)
    qa: QASettings = Field(default_factory=QASettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

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
