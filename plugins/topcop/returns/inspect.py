"""Checks on a received file before anything in it is decoded in full.

A return comes from outside the programme: a damaged, disguised or hostile file
(encrypted, old .xls, macros, links to other files, a zip bomb) must be turned away
with an explanation a police statistician can act on, before a spreadsheet library
spends time and memory on it. Only the file's size, its first bytes and, for a
workbook, the zip directory and the first bytes of each data sheet are looked at.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree as SafeET
from openpyxl.utils import column_index_from_string

from topcop import config
from topcop.config import Limits
from topcop.findings import Finding, file_error
from topcop.returns.model import DATA_SHEETS

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # the second starts an empty archive
ACCEPTED = (".xlsx", ".csv")
# A small part that expands a lot is still small: the ratio limit guards large expansions.
RATIO_FLOOR_BYTES = 1 << 20
MAX_INDEX_PART_BYTES = 4 << 20
# Stream names inside an OLE2 compound file, as its directory stores them (UTF-16LE).
_ENCRYPTED_STREAMS = ("EncryptionInfo", "EncryptedPackage")
_XLS_STREAMS = ("Workbook", "Book")
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="(?:[A-Z]+\d+:)?([A-Z]+)(\d+)"')

SAVE_AS_XLSX = "In Excel choose File > Save As > 'Excel Workbook (*.xlsx)' and send that file."


def inspect_file(path: Path, limits: Limits | None = None) -> list[Finding]:
    """Problems that make ``path`` unfit to be read as a return; empty when it may be read."""
    lim = limits or config.limits()
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        return [file_error("file_unreadable", "The file could not be opened.", str(e))]
    if size == 0:
        return [file_error("file_empty", "The file is empty (0 bytes). Please send it again.", 0)]
    if size > lim.max_file_bytes:
        return [
            file_error(
                "file_too_large",
                f"The file is {_mb(size)}; the largest file accepted is {_mb(lim.max_file_bytes)}. "
                "Remove anything that is not part of the return (pictures, extra sheets) or "
                "send the seizures as a CSV file.",
                size,
            )
        ]
    ext = path.suffix.lower()
    if head.startswith(OLE2_MAGIC):
        return [_ole2_finding(path, ext)]
    is_zip = head[:4] in ZIP_MAGIC
    if ext == ".csv":
        if is_zip:
            return [
                file_error(
                    "file_not_csv",
                    "The file is named .csv but is an Excel workbook. Send it named .xlsx, or "
                    "save it from Excel as 'CSV UTF-8 (Comma delimited)'.",
                    path.name,
                )
            ]
        return []
    if ext in (".xlsx", ".xlsm") or (is_zip and ext == ".ods"):
        if not is_zip:
            return [_not_xlsx(path.name)]
        return _inspect_zip(path, ext, size, lim)
    if ext == ".xls":
        return [_legacy_xls(path.name)]
    if ext == ".ods":
        return [_ods(path.name)]
    return [
        file_error(
            "file_unsupported_type",
            f"Files of type '{ext or '(no extension)'}' are not accepted. Send the return as the "
            "Excel template (.xlsx) or as CSV files (.csv).",
            path.name,
        )
    ]


def _inspect_zip(path: Path, ext: str, size: int, lim: Limits) -> list[Finding]:
    try:
        with zipfile.ZipFile(path) as archive:
            return _inspect_archive(archive, path, ext, size, lim)
    except zipfile.BadZipFile as e:
        return [
            file_error(
                "file_truncated",
                "The file is incomplete or damaged: it starts like an Excel workbook but cannot "
                "be opened as one (often an interrupted upload or copy). Please send it again.",
                str(e),
            )
        ]
    # SyntaxError: ElementTree's ParseError on a damaged workbook.xml.
    except (
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        SyntaxError,
        zlib.error,
    ) as e:
        return [
            file_error(
                "file_unreadable",
                "The workbook could not be opened: it is damaged or uses a format this service "
                "cannot read. " + SAVE_AS_XLSX,
                str(e),
            )
        ]


def _inspect_archive(
    archive: zipfile.ZipFile, path: Path, ext: str, size: int, lim: Limits
) -> list[Finding]:
    infos = archive.infolist()
    names = {i.filename for i in infos}
    if "mimetype" in names and b"opendocument" in _peek(archive, "mimetype", 200):
        return [_ods(path.name)]
    if any(i.header_offset + i.compress_size > size for i in infos):
        return [
            file_error(
                "file_truncated",
                "The file is incomplete: parts of the workbook are cut off (often an interrupted "
                "upload or copy). Please send it again.",
                size,
            )
        ]
    bomb = _zip_bomb(infos, lim)
    if bomb:
        return [bomb]
    findings = []
    if any(i.flag_bits & 0x1 for i in infos):
        findings.append(_encrypted(path.name))
    if ext == ".xlsm" or any(PurePosixPath(n).name.lower() == "vbaproject.bin" for n in names):
        findings.append(
            file_error(
                "file_macros",
                "The workbook contains macros (VBA code), which are refused for security. "
                + SAVE_AS_XLSX,
                path.name,
            )
        )
    links = sorted(n for n in names if n.startswith("xl/externalLinks/"))
    if links:
        findings.append(
            file_error(
                "file_external_links",
                "The workbook has links to other files, which are refused: the figures must be "
                "in the return itself. In Excel use Data > Edit Links > Break Link, then save.",
                links[0],
            )
        )
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        findings.append(_not_xlsx(path.name))
    if not findings:
        findings.extend(_sheet_sizes(archive, names, lim))
    return findings


def _zip_bomb(infos: list[zipfile.ZipInfo], lim: Limits) -> Finding | None:
    total = sum(i.file_size for i in infos)
    message = (
        "The workbook expands to far more data than a return can hold{detail}, so it was not "
        "opened. Please send the template filled with the return's data only."
    )
    if total > lim.max_uncompressed_bytes:
        detail = f" ({_mb(total)} unpacked; at most {_mb(lim.max_uncompressed_bytes)})"
        return file_error("file_zip_bomb", message.format(detail=detail), total)
    for i in infos:
        if i.file_size <= RATIO_FLOOR_BYTES:
            continue
        ratio = i.file_size / i.compress_size if i.compress_size else float("inf")
        if ratio > lim.max_compression_ratio:
            detail = f" (part {i.filename} is packed {ratio:.0f} to 1)"
            return file_error("file_zip_bomb", message.format(detail=detail), i.filename)
    return None


def _sheet_sizes(archive: zipfile.ZipFile, names: set[str], lim: Limits) -> Iterator[Finding]:
    """Data sheets whose declared size is over the limits, found without reading their cells."""
    for sheet, part in _sheet_parts(archive, names).items():
        if sheet not in DATA_SHEETS:
            continue
        m = _DIMENSION.search(_peek(archive, part, 16_384))
        if not m:
            continue
        columns, rows = column_index_from_string(m[1].decode()), int(m[2])
        if rows - 1 > lim.max_rows_per_sheet or columns > lim.max_columns_per_sheet:
            yield file_error(
                "file_sheet_too_large",
                f"Sheet '{sheet}' reaches row {rows:,} and column {m[1].decode()}; at most "
                f"{lim.max_rows_per_sheet:,} rows and {lim.max_columns_per_sheet} columns are "
                "accepted. Delete anything typed far below or to the right of the data.",
                f"{m[1].decode()}{rows}",
            )


def _sheet_parts(archive: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """Sheet name -> zip member, through the workbook's relationships."""
    rels_part = "xl/_rels/workbook.xml.rels"
    if rels_part not in names:
        return {}
    # Both parts are a few kB in any real workbook; a huge one is left to the reader.
    if any(
        archive.getinfo(n).file_size > MAX_INDEX_PART_BYTES for n in ("xl/workbook.xml", rels_part)
    ):
        return {}
    workbook = SafeET.fromstring(archive.read("xl/workbook.xml"))
    rels = SafeET.fromstring(archive.read(rels_part))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_NS}Relationship")}
    parts = {}
    for s in workbook.iter(f"{_MAIN_NS}sheet"):
        target = targets.get(s.get(_REL_ID), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part in names:
            parts[s.get("name")] = part
    return parts


def _peek(archive: zipfile.ZipFile, name: str, size: int) -> bytes:
    with archive.open(name) as f:
        return f.read(size)


def _ole2_finding(path: Path, ext: str) -> Finding:
    """An OLE2 compound file is either a password-protected workbook or an old binary file."""
    streams = _ole2_streams(path)
    if streams & set(_ENCRYPTED_STREAMS):
        return _encrypted(path.name)
    if streams & set(_XLS_STREAMS) or ext == ".xls":
        return _legacy_xls(path.name)
    return file_error(
        "file_not_xlsx",
        "The file is an old-format Office document but not an Excel workbook. " + SAVE_AS_XLSX,
        path.name,
    )


def _ole2_streams(path: Path) -> set[str]:
    """Which of the telling stream names appear in the file (directory entries are UTF-16LE)."""
    wanted = {
        name: name.encode("utf-16-le") + b"\x00\x00"
        for name in (*_ENCRYPTED_STREAMS, *_XLS_STREAMS)
    }
    found: set[str] = set()
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            window = tail + chunk
            found.update(n for n, pattern in wanted.items() if pattern in window)
            tail = window[-64:]
    return found


def _encrypted(name: str) -> Finding:
    return file_error(
        "file_encrypted",
        "The workbook is protected with a password (encrypted), so it cannot be read. Remove "
        "the password (File > Info > Protect Workbook > Encrypt with Password, clear it), save "
        "and send it again. Sheet protection without a password is fine.",
        name,
    )


def _legacy_xls(name: str) -> Finding:
    return file_error(
        "file_legacy_xls",
        "The file is in the old Excel 97-2003 format (.xls), which is not accepted. "
        + SAVE_AS_XLSX,
        name,
    )


def _ods(name: str) -> Finding:
    return file_error(
        "file_ods",
        "The file is an OpenDocument spreadsheet (.ods), which is not accepted. In LibreOffice "
        "choose File > Save As > 'Excel 2007-365 (.xlsx)' and send that file.",
        name,
    )


def _not_xlsx(name: str) -> Finding:
    return file_error(
        "file_not_xlsx",
        "The file is named .xlsx but is not an Excel workbook (it may be another kind of file "
        "renamed, or damaged). " + SAVE_AS_XLSX,
        name,
    )


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
