"""ZIP archives of images, with an optional `manifest.jsonl` at the top describing them.

An upload is untrusted: the archive is refused whole when it could hurt the server (paths
that escape, links, archives inside, decompression bombs), decided from the central
directory before anything is extracted, and the limits are enforced again on the bytes
actually written, since headers can lie.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import replace
from typing import BinaryIO

from PIL import Image

from apps.datasets.importers.jsonl import iter_jsonl_rows
from apps.datasets.importers.records import FileRejected, ParsedRow, RowError
from apps.datasets.importers.validation import InvalidField, check_external_id

MANIFEST_NAME = "manifest.jsonl"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"})
ARCHIVE_SUFFIXES = frozenset(
    {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".jar"}
)
# What macOS and Windows add to archives on their own: no one means to import these.
_OS_CLUTTER = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)")
# Small entries compress well without harm; the ratio is judged on entries past this size.
RATIO_CHECKED_FROM_BYTES = 1024 * 1024
# A central directory larger than this per allowed entry is refused before it is parsed.
CENTRAL_DIRECTORY_BYTES_PER_ENTRY = 1024
_COPY_CHUNK_BYTES = 64 * 1024
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_NOT_AN_IMAGE = (
    f"not an image: the archive may hold only images ({', '.join(sorted(IMAGE_SUFFIXES))})"
    f" and a {MANIFEST_NAME} at its top"
)


class ZipImporter:
    """Reads a ZIP of images into rows, extracting each image to a file of its own.

    Raises `FileRejected` before yielding anything for an archive that is not a ZIP
    (`not_a_zip`) or that holds too many entries (`too_many_entries`), a path escaping the
    target (`unsafe_path`), a symlink (`symlink`), an archive (`nested_archive`), a name twice
    (`duplicate_entry`), more than `max_total_bytes` uncompressed (`too_large`) or an entry
    compressed more than `max_ratio` times (`suspicious_ratio`); and again while extracting
    if the bytes written break those limits, after rows may have been yielded: the caller
    then discards them and `extract_dir`.

    With a manifest, yields its lines' rows first, each matched to the image whose entry
    name is its media_uri, or whose name without extension is its external_id (a line may
    then leave media_uri out; line `manifest.jsonl:N` for the manifest's errors); then a row
    for every image it left out, identified by its name without extension. Each `ParsedRow`
    has `line` and `media_uri` set to the entry name, the size Pillow reads, `media_file`:
    a new file under `extract_dir`, which the caller then owns, and `media_digest`, of the
    file's bytes. An entry that is not a readable image gives a `RowError` named after it,
    and leaves no file behind.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        extract_dir: str | os.PathLike[str],
        max_total_bytes: int,
        max_ratio: float,
        max_entries: int,
    ) -> None:
        self._path = path
        self._extract_dir = extract_dir
        self._max_total_bytes = max_total_bytes
        self._max_ratio = max_ratio
        self._max_entries = max_entries
        self._bytes_written = 0

    def iter_records(self) -> Iterator[ParsedRow | RowError]:
        with open(self._path, "rb") as stream:
            self._check_declared_entries(stream)
            try:
                archive = zipfile.ZipFile(stream)
            except (zipfile.BadZipFile, ValueError, EOFError, OSError) as error:
                raise FileRejected(
                    "not_a_zip", f"the file is not a readable ZIP: {error}"
                ) from None
            with archive:
                entries = self._checked_entries(archive)
                self._bytes_written = 0
                yield from self._rows(archive, entries)

    def _rows(
        self, archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]
    ) -> Iterator[ParsedRow | RowError]:
        images = {info.filename: info for info in entries if _suffix(info) in IMAGE_SUFFIXES}
        done: set[str] = set()
        manifest = next((info for info in entries if info.filename == MANIFEST_NAME), None)
        if manifest is not None:
            yield from self._manifest_rows(archive, manifest, images, done)
        for info in entries:
            if info.filename in done or info is manifest:
                continue
            if info.filename not in images:
                yield RowError(info.filename, None, _NOT_AN_IMAGE)
                continue
            try:
                external_id = check_external_id(posixpath.splitext(info.filename)[0])
            except InvalidField as error:
                yield RowError(info.filename, "external_id", error.message)
                continue
            row = ParsedRow(line=info.filename, external_id=external_id, media_uri=info.filename)
            yield self._image_row(archive, info, row)

    def _manifest_rows(
        self,
        archive: zipfile.ZipFile,
        manifest: zipfile.ZipInfo,
        images: dict[str, zipfile.ZipInfo],
        done: set[str],
    ) -> Iterator[ParsedRow | RowError]:
        by_stem: dict[str, str | None] = {}
        for name in images:
            stem = posixpath.splitext(name)[0]
            by_stem[stem] = None if stem in by_stem else name  # None: two images share it
        with archive.open(manifest) as stream:
            for record in iter_jsonl_rows(stream, media_uri_required=False):
                line = f"{MANIFEST_NAME}:{record.line}"
                if isinstance(record, RowError):
                    yield replace(record, line=line)
                    continue
                name = (
                    record.media_uri
                    if record.media_uri in images
                    else by_stem.get(record.external_id)
                )
                if name is None:
                    yield _unmatched(line, record, by_stem)
                elif name in done:
                    yield RowError(line, "media_uri", f"{name} is described by an earlier line")
                else:
                    done.add(name)
                    row = replace(record, line=name, media_uri=name)
                    yield self._image_row(archive, images[name], row, manifest_line=line)

    def _image_row(
        self,
        archive: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        row: ParsedRow,
        manifest_line: str | None = None,
    ) -> ParsedRow | RowError:
        """The row with the image extracted and measured, or why the image is unusable."""
        if info.flag_bits & 0x1:
            return RowError(
                info.filename, None, "the entry is encrypted; zip it without a password"
            )
        try:
            path, digest = self._extract(archive, info)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
            return RowError(info.filename, None, f"corrupt entry: {error}; zip the image again")
        try:
            width, height = _image_size(path)
        except Exception as error:  # Pillow raises many kinds on broken or hostile images.
            _remove(path)
            message = f"unreadable image ({type(error).__name__}: {error}); re-save it, zip again"
            return RowError(info.filename, None, message)
        for field, declared, measured in (
            ("width", row.width, width),
            ("height", row.height, height),
        ):
            if declared is not None and declared != measured:
                _remove(path)
                message = f"{field} is {declared} but the image is {width}x{height} pixels"
                return RowError(manifest_line or info.filename, field, message)
        return replace(row, width=width, height=height, media_file=path, media_digest=digest)

    def _extract(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, str]:
        """Streams an entry to a new file under extract_dir, counting the bytes written;
        the file's path and the digest of its bytes."""
        descriptor, path = tempfile.mkstemp(dir=self._extract_dir, suffix=_suffix(info))
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with os.fdopen(descriptor, "wb") as target, archive.open(info) as source:
                written = 0
                while chunk := source.read(_COPY_CHUNK_BYTES):
                    written += len(chunk)
                    self._bytes_written += len(chunk)
                    self._check_written(info, written)
                    target.write(chunk)
                    digest.update(chunk)
        except BaseException:
            _remove(path)
            raise
        return path, digest.hexdigest()

    def _check_written(self, info: zipfile.ZipInfo, written: int) -> None:
        if written > info.file_size or self._bytes_written > self._max_total_bytes:
            raise FileRejected(
                "too_large",
                f"{info.filename} inflates past the sizes the archive declares, or past "
                f"{self._max_total_bytes} bytes in all",
            )
        if _ratio_exceeds(written, info.compress_size, self._max_ratio):
            raise FileRejected("suspicious_ratio", f"{info.filename} inflates too far")

    def _check_declared_entries(self, stream: BinaryIO) -> None:
        """Refuses an archive whose central directory is too large to read, before reading it."""
        entries, directory_bytes = _declared_central_directory(stream)
        if directory_bytes > self._max_entries * CENTRAL_DIRECTORY_BYTES_PER_ENTRY:
            entries = self._max_entries + 1
        self._check_entry_count(entries)

    def _check_entry_count(self, entries: int) -> None:
        if entries > self._max_entries:
            raise FileRejected(
                "too_many_entries", f"the archive holds more than {self._max_entries} entries"
            )

    def _checked_entries(self, archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
        """The entries to import, after refusing the archive if any entry is hostile."""
        infos = archive.infolist()
        self._check_entry_count(len(infos))  # the end record can understate the count
        names: set[str] = set()
        total = 0
        kept = []
        for info in infos:
            name = info.filename
            if _is_unsafe(name):
                raise FileRejected(
                    "unsafe_path",
                    f"entry {name!r} would land outside the dataset; use plain relative paths",
                )
            if name in names:
                raise FileRejected("duplicate_entry", f"entry {name!r} appears more than once")
            names.add(name)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise FileRejected("symlink", f"entry {name!r} is a symbolic link")
            if info.is_dir() or _OS_CLUTTER.search(name):
                continue
            if _suffix(info) in ARCHIVE_SUFFIXES:
                raise FileRejected(
                    "nested_archive", f"entry {name!r} is an archive; put its files in directly"
                )
            total += info.file_size
            if total > self._max_total_bytes:
                raise FileRejected(
                    "too_large", f"the archive inflates past {self._max_total_bytes} bytes"
                )
            if _ratio_exceeds(info.file_size, info.compress_size, self._max_ratio):
                raise FileRejected(
                    "suspicious_ratio",
                    f"entry {name!r} is compressed {info.file_size // max(info.compress_size, 1)}"
                    f" times, past the {self._max_ratio} allowed",
                )
            kept.append(info)
        return kept


def _unmatched(line: str, record: ParsedRow, by_stem: dict[str, str | None]) -> RowError:
    """The error of a manifest line that names no image: by its media_uri, if it gives one,
    nor by its external_id."""
    if record.media_uri:
        return RowError(
            line,
            "media_uri",
            f"no image named {record.media_uri!r} in the archive; "
            "media_uri must be the image's path inside the ZIP",
        )
    if by_stem.get(record.external_id, "") is None:
        return RowError(
            line,
            "external_id",
            f"two images are named {record.external_id!r} but for their extension; "
            "give media_uri, the path inside the ZIP of the one this line describes",
        )
    return RowError(
        line,
        "external_id",
        f"no image is named {record.external_id!r} (with an image's extension) in the "
        "archive; give media_uri, the image's path inside the ZIP",
    )


def _declared_central_directory(stream: BinaryIO) -> tuple[int, int]:
    """(entries, central directory bytes) as the end-of-central-directory record says."""
    size = stream.seek(0, os.SEEK_END)
    tail_size = min(size, 22 + 0xFFFF + 20)  # the record, a comment, a ZIP64 locator
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise FileRejected("not_a_zip", "the file is not a ZIP archive")
    entries, directory_bytes = struct.unpack("<10xHL6x", tail[at : at + 22])
    zip64 = entries == 0xFFFF or directory_bytes == 0xFFFFFFFF
    if zip64 and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        (zip64_at,) = struct.unpack("<8xQ4x", tail[at - 20 : at])
        stream.seek(zip64_at)
        record = stream.read(56)
        if record[:4] == b"PK\x06\x06":
            entries, directory_bytes = struct.unpack("<32xQQ8x", record)
    stream.seek(0)
    return entries, directory_bytes


def _image_size(path: str) -> tuple[int, int]:
    with Image.open(path) as image:
        size = image.size
        image.verify()
    return size


def _is_unsafe(name: str) -> bool:
    parts = name.rstrip("/").split("/")
    return (
        not name
        or name.startswith("/")
        or "\\" in name
        or bool(_DRIVE_LETTER.match(name))
        or any(part in ("", ".", "..") for part in parts)
        or any(ord(char) < 32 for char in name)
    )


def _ratio_exceeds(uncompressed: int, compressed: int, max_ratio: float) -> bool:
    return uncompressed >= RATIO_CHECKED_FROM_BYTES and uncompressed > max_ratio * compressed


def _suffix(info: zipfile.ZipInfo) -> str:
    return posixpath.splitext(info.filename)[1].lower()


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
