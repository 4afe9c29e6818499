"""Reading zip members without trusting their headers: member count, sizes, compression ratio
and encryption are checked before reading, and the bytes read are counted while streaming."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from guideqa.ingest.errors import CorruptFileError
from guideqa.ingest.settings import IngestLimits

_CHUNK = 1024 * 1024
_ENCRYPTED = 0x1


def zip_members(path: Path, suffix: str, limits: IngestLimits) -> list[zipfile.ZipInfo]:
    """The members with a suffix, after the archive-wide checks; typed errors otherwise."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptFileError(path, f"not a readable zip ({exc})") from exc
    if len(infos) > limits.max_zip_members:
        raise CorruptFileError(
            path,
            f"the zip holds {len(infos)} files; the limit is {limits.max_zip_members}",
            "split it, or raise GUIDEQA_INGEST__MAX_ZIP_MEMBERS",
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_zip_bytes:
        raise CorruptFileError(
            path,
            f"the zip expands to {total} bytes; the limit is {limits.max_zip_bytes}",
            "raise GUIDEQA_INGEST__MAX_ZIP_BYTES if this is expected",
        )
    return [i for i in infos if i.filename.lower().endswith(suffix) and not i.is_dir()]


def read_member(path: Path, info: zipfile.ZipInfo, limits: IngestLimits) -> bytes:
    """One member's bytes, refusing encrypted members, zip bombs and lying headers."""
    if info.flag_bits & _ENCRYPTED:
        raise CorruptFileError(path, f"{info.filename} in the zip is encrypted")
    if info.file_size > limits.max_member_bytes:
        raise CorruptFileError(
            path,
            f"{info.filename} expands to {info.file_size} bytes; the limit is "
            f"{limits.max_member_bytes}",
        )
    ratio = info.file_size / max(1, info.compress_size)
    if ratio > limits.max_zip_ratio:
        raise CorruptFileError(
            path,
            f"{info.filename} is compressed {ratio:.0f} to 1 (a zip bomb?); the limit is "
            f"{limits.max_zip_ratio:.0f}",
        )
    return b"".join(_stream(path, info, min(info.file_size, limits.max_member_bytes)))


def _stream(path: Path, info: zipfile.ZipInfo, cap: int) -> Iterator[bytes]:
    read = 0
    try:
        with zipfile.ZipFile(path) as archive, archive.open(info) as handle:
            while chunk := handle.read(_CHUNK):
                read += len(chunk)
                if read > cap:  # the header under-stated the size
                    raise CorruptFileError(
                        path, f"{info.filename} holds more than its header says ({cap} bytes)"
                    )
                yield chunk
    except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, EOFError) as exc:
        raise CorruptFileError(path, f"{info.filename} in the zip is unreadable ({exc})") from exc
