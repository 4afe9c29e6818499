"""Versioned on-disk layout: build beside the current version, publish by atomic rename.

<dir>/CURRENT                 name of the published version
<dir>/versions/v000007/       manifest.json, store.sqlite, vectors.npy, dense.faiss, bm25/
<dir>/versions/.build-*/      a version being written (removed if its writer died)
<dir>/write.lock              held by the one process writing
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from guideqa.index.errors import IndexBusyError, IndexCorruptError, IndexNotFoundError
from guideqa.index.models import IndexManifest

MANIFEST = "manifest.json"
_BUILD_PREFIX = ".build-"
# what a complete version holds besides its manifest
VERSION_FILES = ("store.sqlite", "vectors.npy", "dense.faiss", "bm25")
log = logging.getLogger("guideqa.index")


def versions_dir(root: Path) -> Path:
    """Folder holding every version of the index at `root`."""
    return root / "versions"


def current_version(root: Path) -> str | None:
    """Name of the published version, or None when nothing is published."""
    pointer = root / "CURRENT"
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return name or None


def current_version_dir(root: Path) -> Path:
    """Directory of the published version; a clear error when there is none.

    When CURRENT names a version that is missing or broken, the newest good version is used
    instead, with a warning, so that serving and `guideqa build --rebuild` still work."""
    name = current_version(root)
    if name is None:
        raise IndexNotFoundError(
            f"no index at {root}: build one with `guideqa ingest PATH` or `make run`"
        )
    folder = versions_dir(root) / name
    problem = version_problem(folder)
    if problem is None:
        return folder
    fallback = newest_good_version(root)
    if fallback is None:
        raise IndexCorruptError(
            f"index version {name} at {root} is broken ({problem}) and no other version is "
            "intact: run `guideqa build --rebuild`"
        )
    log.warning(
        "index version %s at %s is broken (%s); using %s, the newest intact version. "
        "Run `guideqa build --rebuild` to publish a new one.",
        name,
        root,
        problem,
        fallback.name,
    )
    return fallback


def version_problem(folder: Path) -> str | None:
    """Why a version folder cannot be served, or None when it is complete and readable."""
    try:
        if not folder.is_dir():
            return "its folder is missing"
        missing = [f for f in (MANIFEST, *VERSION_FILES) if not (folder / f).exists()]
        if missing:
            return f"missing {', '.join(missing)}"
        read_manifest(folder)
    except (OSError, IndexCorruptError) as exc:
        return str(exc)
    return None


def newest_good_version(root: Path) -> Path | None:
    """The newest complete, readable version folder, if any."""
    folder = versions_dir(root)
    try:
        names = sorted(
            (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
            reverse=True,
        )
    except OSError:
        return None
    return next((p for p in names if version_problem(p) is None), None)


def read_manifest(version_dir: Path) -> IndexManifest:
    """The manifest of one version directory."""
    try:
        return IndexManifest.model_validate_json((version_dir / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"cannot read {version_dir / MANIFEST}: {exc}") from exc


def list_versions(root: Path) -> list[IndexManifest]:
    """Manifests of all complete versions, oldest first."""
    folder = versions_dir(root)
    if not folder.exists():
        return []
    names = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [read_manifest(p) for p in names if version_problem(p) is None]


def next_version_name(root: Path) -> str:
    """v000001, v000002, ...: one more than the highest version present."""
    folder = versions_dir(root)
    numbers = (
        [int(p.name[1:]) for p in folder.glob("v*") if p.is_dir() and p.name[1:].isdigit()]
        if folder.exists()
        else []
    )
    return f"v{max(numbers, default=0) + 1:06d}"


@contextlib.contextmanager
def write_lock(root: Path, timeout_s: float = 0.0) -> Iterator[None]:
    """Hold the single-writer lock; waits up to `timeout_s`, then refuses clearly."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "write.lock").open("a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusyError(
                        f"another ingest is writing the index at {root}; "
                        "wait for it to finish and run this again"
                    ) from None
                time.sleep(0.2)
        try:
            remove_abandoned_builds(root)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_abandoned_builds(root: Path) -> None:
    """Delete partial versions left by a writer that died (only called under the lock)."""
    folder = versions_dir(root)
    if folder.exists():
        for leftover in folder.glob(f"{_BUILD_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def new_build_dir(root: Path, name: str) -> Path:
    """A fresh hidden folder to write a version into before publishing."""
    path = versions_dir(root) / f"{_BUILD_PREFIX}{name}-{os.getpid()}"
    path.mkdir(parents=True)
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder` to disk, then every directory, deepest first, so that
    a crash after the rename can never publish a version whose data is still in cache."""
    for directory, _, files in os.walk(folder, topdown=False):
        for name in files:
            fd = os.open(Path(directory) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(directory))


def publish(root: Path, build_dir: Path, name: str) -> Path:
    """Flush the finished build, rename it into place, then switch CURRENT to it atomically."""
    fsync_tree(build_dir)
    final = versions_dir(root) / name
    os.rename(build_dir, final)
    _fsync_dir(versions_dir(root))
    pointer_tmp = root / f"CURRENT.{os.getpid()}.tmp"
    pointer_tmp.write_text(name + "\n", encoding="utf-8")
    with pointer_tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(pointer_tmp, root / "CURRENT")
    _fsync_dir(root)
    return final


def collect_garbage(root: Path, keep: int) -> list[str]:
    """Remove the oldest versions beyond `keep`, never the published one."""
    current = current_version(root)
    names = [m.version for m in list_versions(root)]
    removable = [n for n in names if n != current][: max(0, len(names) - max(keep, 1))]
    for name in removable:
        shutil.rmtree(versions_dir(root) / name, ignore_errors=True)
    return removable


def write_json(path: Path, data: object) -> None:
    """Write JSON and flush it to disk."""
    with path.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, default=str)
        handle.flush()
        os.fsync(handle.fileno())
