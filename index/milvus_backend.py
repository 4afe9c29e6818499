"""Milvus as the index backend: versions as collections behind the alias PREFIX_current,
publishing, retention, readiness. Searching one version is `index.milvus.MilvusIndex`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from guideqa.index.errors import (
    BackendUnavailableError,
    IndexMismatchError,
    IndexNotFoundError,
    StagingMismatchError,
)
from guideqa.index.milvus import MilvusIndex
from guideqa.index.milvus_store import (
    MilvusPlace,
    connect,
    drop_old_versions,
    read_manifest_of,
    served_collection,
    switch_alias,
    upload_version,
    version_collections,
)
from guideqa.index.models import IndexManifest
from guideqa.index.settings import IndexSettings
from guideqa.ingest.embedding import Embedder

if TYPE_CHECKING:
    from pymilvus import MilvusClient


class MilvusBackend:
    """Versions as Milvus collections behind the alias PREFIX_current."""

    name = "milvus"

    def __init__(self, settings: IndexSettings, settings_id: str) -> None:
        self.settings = settings
        self.settings_id = settings_id
        self.place = MilvusPlace(settings.milvus_prefix)
        self._client: MilvusClient | None = None
        self._manifests: dict[str, IndexManifest] = {}  # versions never change: read once

    @property
    def client(self) -> MilvusClient:
        """The connection, made on first use."""
        if self._client is None:
            self._client = connect(self.settings)
        return self._client

    def _manifest(self, collection: str) -> IndexManifest | None:
        if collection not in self._manifests:
            manifest = read_manifest_of(self.client, collection)
            if manifest is None:
                return None
            self._manifests[collection] = manifest
        return self._manifests[collection]

    def published_manifest(self) -> IndexManifest | None:
        """The manifest of the version the alias names (None: nothing published)."""
        served = served_collection(self.client, self.place)
        return self._manifest(served) if served is not None else None

    def published_version(self) -> str | None:
        manifest = self.published_manifest()
        return manifest.version if manifest else None

    def _collection_of(self, version: str | None) -> str:
        served = served_collection(self.client, self.place)
        if served is None:
            raise IndexNotFoundError(
                f"no index is published in Milvus at {self.settings.milvus_uri} (alias "
                f"{self.place.alias}); run `guideqa migrate --to milvus` or `guideqa ingest` "
                "with GUIDEQA_INDEX__BACKEND=milvus"
            )
        served_manifest = self._manifest(served)
        if version is None or (served_manifest and served_manifest.version == version):
            return served  # the alias is switched atomically: it names a complete version
        kept = [
            name for name, m in version_collections(self.client, self.place) if m.version == version
        ]
        if not kept:
            raise IndexNotFoundError(f"version {version} is no longer kept in Milvus")
        return kept[-1]

    def open(self, embedder: Embedder, version: str | None = None) -> MilvusIndex:
        index = MilvusIndex(self.client, self._collection_of(version), self.settings, embedder)
        if index.manifest.settings_id != self.settings_id:
            raise IndexMismatchError(
                f"the Milvus version {index.manifest.version} was built with settings "
                f"{index.manifest.settings_id} but the current settings are {self.settings_id}"
            )
        return index

    def publish(self, version_dir: Path, allow_older: bool = False) -> str:
        """Upload a local version and serve it. A version older than the served one is not
        served (it would roll back another writer's newer version) unless `allow_older`."""
        served = self.published_manifest()
        collection = upload_version(self.client, self.place, version_dir, self.settings)
        manifest = self._manifest(collection)
        assert manifest is not None  # upload_version returns complete versions only
        if served is not None and manifest.created < served.created and not allow_older:
            raise StagingMismatchError(
                f"not serving {manifest.version} from {version_dir}: Milvus already serves "
                f"{served.version}, built later; writes must go through the staging index "
                "that published it (share GUIDEQA_INDEX_DIR), or use `guideqa migrate "
                "--version` to go back on purpose"
            )
        switch_alias(self.client, self.place, collection)
        drop_old_versions(self.client, self.place, self.settings.keep_versions)
        return manifest.version

    def versions(self) -> list[IndexManifest]:
        return [m for _, m in version_collections(self.client, self.place)]

    def problem(self, served: str) -> str | None:
        from pymilvus import MilvusException

        try:
            names = self.client.list_collections(timeout=self.settings.milvus_timeout_s)
        except (MilvusException, BackendUnavailableError, OSError) as exc:
            return f"Milvus at {self.settings.milvus_uri} is unreachable: {exc}"
        kept = {m.version for name, m in self._manifests.items() if name in names}
        if served not in kept and not any(
            m.version == served for _, m in version_collections(self.client, self.place)
        ):
            return f"the served version {served} is no longer in Milvus"
        return None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
