"""Checks on a received file before anything in it is decoded in full.

A return comes from outside the programme: a damaged, disguised or hostile file
(encrypted, old .xls, macros, links to other files, a zip bomb, XML entities, a
sheet that claims a million rows) must be turned away with an explanation a police
statistician can act on, before a spreadsheet library spends time and memory on
it. Every limit comes from ``limits.yaml``.

For a workbook, the zip directory is checked first; then every part is unpacked
once as a stream (never held whole, never beyond the size its directory entry
declares), looking only at tags: a DTD or entity declaration refuses the file, and
each sheet's extent (last row, last column, number of cells) is measured the way
calamine will place the cells. calamine builds a dense grid from the first to the
last cell, so a single cell at XFD1048576 would ask for billions of cells: that is
refused here, not discovered by running out of memory.

This module decides by the file's first bytes and name; ``archive`` checks a
workbook's zip, ``sheet_parts`` streams its parts, and ``refusals`` words each reason.
"""

from __future__ import annotations

from pathlib import Path

from topcop import config
from topcop.config import Limits
from topcop.findings import Finding, file_error
from topcop.i18n import msg
from topcop.returns.archive import inspect_zip
from topcop.returns.refusals import (
    encrypted,
    file_kind,
    legacy_xls,
    mb,
    not_xlsx,
    ods,
)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # the second starts an empty archive
ACCEPTED = (".xlsx", ".csv")
_HEAD_BYTES = 8192
# Stream names inside an OLE2 compound file, as its directory stores them (UTF-16LE).
_ENCRYPTED_STREAMS = ("EncryptionInfo", "EncryptedPackage")
_XLS_STREAMS = ("Workbook", "Book")
# What other kinds of file look like in their first bytes, to say what was sent instead.


def inspect_file(
    path: Path, limits: Limits | None = None, *, merged: set[str] | None = None
) -> list[Finding]:
    """Problems that make ``path`` unfit to be read as a return; empty when it may be read.

    ``merged``, when given, gets the names of the workbook's sheets that may have merged
    cells: the reader then reads those sheets the way that reports them.
    """
    lim = limits or config.limits()
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as e:
        return [file_error("file_unreadable", msg("The file could not be opened."), str(e))]
    if size == 0:
        empty = msg("The file is empty (0 bytes). Please send it again.")
        return [file_error("file_empty", empty, 0)]
    if size > lim.max_file_bytes:
        return [
            file_error(
                "file_too_large",
                msg(
                    "The file is {size}; the largest file accepted is {limit}. Remove anything "
                    "that is not part of the return (pictures, extra sheets) or send the "
                    "seizures as a CSV file.",
                    size=mb(size),
                    limit=mb(lim.max_file_bytes),
                ),
                size,
            )
        ]
    ext = path.suffix.lower()
    if head.startswith(OLE2_MAGIC):
        return [_ole2_finding(path, ext)]
    is_zip = head[:4] in ZIP_MAGIC
    if ext == ".csv":
        return _inspect_csv(path.name, head, is_zip)
    if ext in (".xlsx", ".xlsm") or (is_zip and ext == ".ods"):
        if not is_zip:
            return [not_xlsx(path.name, head)]
        return inspect_zip(path, ext, size, lim, merged)
    if ext == ".xls":
        return [legacy_xls(path.name)]
    if ext == ".ods":
        return [ods(path.name)]
    return [
        file_error(
            "file_unsupported_type",
            msg(
                "Files of type '{extension}' are not accepted. Send the return as the Excel "
                "template (.xlsx) or as CSV files (.csv).",
                extension=ext or msg("(no extension)"),
            ),
            path.name,
        )
    ]


def _inspect_csv(name: str, head: bytes, is_zip: bool) -> list[Finding]:
    if is_zip:
        return [
            file_error(
                "file_not_csv",
                msg(
                    "The file is named .csv but is an Excel workbook. Send it named .xlsx, or "
                    "save it from Excel as 'CSV UTF-8 (Comma delimited)'."
                ),
                name,
            )
        ]
    kind = file_kind(head)
    # Text has no NUL bytes, except UTF-16, which the reader names as such.
    if kind or (b"\x00" in head and not looks_utf16(head)):
        return [
            file_error(
                "file_not_csv",
                msg(
                    "The file is named .csv but is not text (it is {kind}). Save the return from "
                    "Excel as 'CSV UTF-8 (Comma delimited)' and send that file.",
                    kind=kind or msg("a binary file"),
                ),
                name,
            )
        ]
    return []


def looks_utf16(head: bytes) -> bool:
    """UTF-16 text: a byte-order mark, or every second byte NUL as ASCII text has it.

    Excel's 'Unicode text' export writes UTF-16; the reader names it so in its finding.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = head[:512]
    half = len(sample) // 2
    return half >= 2 and max(sample[0::2].count(0), sample[1::2].count(0)) > 0.8 * half


def _ole2_finding(path: Path, ext: str) -> Finding:
    """An OLE2 compound file is either a password-protected workbook or an old binary file."""
    streams = _ole2_streams(path)
    if streams & set(_ENCRYPTED_STREAMS):
        return encrypted(path.name)
    if streams & set(_XLS_STREAMS) or ext == ".xls":
        return legacy_xls(path.name)
    return file_error(
        "file_not_xlsx",
        msg(
            "The file is an old-format Office document but not an Excel workbook. In Excel "
            "choose File > Save As > 'Excel Workbook (*.xlsx)' and send that file."
        ),
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
