"""Every part of a workbook unpacked once as a stream, looking only at tags.

A DTD or entity declaration refuses the file; each sheet's extent (last row, last
column, number of cells) is measured the way calamine will place the cells, and
the shared-texts part is counted. No part is held whole or unpacked beyond the
size its directory entry declares.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

from openpyxl.utils import column_index_from_string, get_column_letter

from topcop.config import Limits
from topcop.findings import Finding
from topcop.i18n import Number, msg
from topcop.returns.refusals import bomb, damaged, sheet_too_large, too_many_texts, xml_declarations

# A tag longer than this is no spreadsheet's: refusing it keeps the tag scan's memory flat.
_LOCAL_HEADER = struct.Struct("<4s22xHH")
MAX_TAG_BYTES = 1 << 20
_CHUNK = 1 << 20
# Tags, as bytes patterns over unpacked XML. Element names may carry a namespace prefix
# (calamine reads <x:c> as <c>), and of a repeated attribute calamine takes the last.
_P = rb"<(?:[A-Za-z_][\w.-]*:)?"
_DECLARATION = re.compile(rb"<!(?i:doctype|entity)")
_DIMENSION = re.compile(
    _P + rb'dimension\s[^>]*?\bref\s*=\s*["\'](?:[A-Za-z]+\d+:)?([A-Za-z]+)(\d+)'
)
_SHEET_DATA = re.compile(_P + rb"sheetData(?=[\s/>])")
_SHEET_DATA_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?sheetData\s*>")
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_TAG = re.compile(_P + rb"(row|c)(?=[\s/>])([^>]*)")
# A tag's attributes, each quoted whole. calamine also takes a '>' or '<' inside a quoted
# value, which would hide a reference from a simpler scan: such a tag is refused.
_ATTRIBUTES = re.compile(rb"""(?:\s+[^\s=<>"']+\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*\s*/?""")
_ATTRIBUTE = re.compile(rb"""([^\s=<>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_NAME = re.compile(rb"([A-Za-z]{1,3})([1-9]\d{0,6})")
_PREFIXED_SHARED_STRING = re.compile(rb":si[\s/>]")


class _Oversized(Exception):
    """A part unpacks to more bytes than its directory entry declares."""


class _TagTooLong(Exception):
    """A single tag runs over MAX_TAG_BYTES: no spreadsheet writes one."""


def inspect_parts(
    path: Path,
    infos: list[zipfile.ZipInfo],
    sheets: dict[str, str],
    lim: Limits,
    merged: set[str] | None = None,
) -> list[Finding]:
    """The first reason to refuse the parts; ``merged`` gets the sheets naming merged cells."""
    merged = set() if merged is None else merged
    with open(path, "rb") as f:
        for info in infos:
            name = sheets.get(info.filename, info.filename)
            try:
                try:
                    finding = _inspect_part(f, info, name, lim, merged)
                except _NeedsCellWalk:
                    finding = _walk_cells(f, info, name, lim, merged)
            except _Oversized:
                return [
                    bomb(
                        msg(
                            " (part {part} unpacks to more than the {size} bytes it declares)",
                            part=info.filename,
                            size=Number(info.file_size),
                        ),
                        info.filename,
                    )
                ]
            except _TagTooLong:
                return [damaged(info.filename, msg("holds an XML tag longer than any"))]
            if finding is not None:
                return [finding]
    return []


class _NeedsCellWalk(Exception):
    """Some cell has no plain reference: positions must be counted cell by cell."""


@dataclass
class _Extent:
    """How far a sheet reaches, as calamine will place its cells."""

    sheet: str
    rows: int = 0  # the last row, 1-based
    columns: int = 0  # the last column, 1-based
    cells: int = 0

    def over(self, lim: Limits) -> Finding | None:
        # Rows and columns bound the dense grid calamine builds; cells bound the list of
        # cells it reads first, which repeated references could make longer than the grid.
        if (
            self.rows - 1 <= lim.max_rows_per_sheet
            and self.columns <= lim.max_columns_per_sheet
            and self.cells <= lim.max_cells_per_sheet
        ):
            return None
        return sheet_too_large(self.sheet, self.rows, self.columns, self.cells, lim)


def _inspect_part(
    f: BinaryIO, info: zipfile.ZipInfo, name: str, lim: Limits, merged: set[str]
) -> Finding | None:
    """One pass over a part: declarations, a sheet's claimed and actual extent, shared texts.

    The fast path counts cells written as Excel writes them, with a reference inside
    the limits; sheet data with any other cell (legal but rare, or out of bounds)
    raises ``_NeedsCellWalk`` and the part is walked cell by cell instead.
    """
    odd_cell = _odd_cell(lim.max_rows_per_sheet + 1, lim.max_columns_per_sheet)
    cells = 0
    in_sheet_data, strings, first = False, 0, True
    for segment in _segments(_unpacked(f, info)):
        if _declares(segment):
            return xml_declarations(info.filename)
        _note_merged(segment, name, merged)
        if first:
            first = False
            m = _DIMENSION.search(segment)
            claimed = _Extent(name, int(m[2]), _column(m[1])) if m else None
            if claimed and claimed.over(lim):
                return claimed.over(lim)
        start = 0
        if not in_sheet_data:
            strings += _shared_strings(segment)
            if strings > lim.max_cells_per_sheet:
                return too_many_texts(info.filename, lim)
            m = _SHEET_DATA.search(segment)
            if m is None:
                continue
            in_sheet_data, start = True, m.end()
        m = _SHEET_DATA_END.search(segment, start) if b"sheetData" in segment else None
        in_sheet_data = m is None
        end = m.start() if m else len(segment)
        # One search for a cell tag that is not plain, rather than a match for each cell.
        if odd_cell.search(segment, start, end):
            raise _NeedsCellWalk
        # Cells written with a namespace prefix (<x:c>) are cells to calamine too, and the
        # plain-cell count misses them: checked before a region without plain cells is
        # passed over, else a sheet of prefixed cells only would go unmeasured.
        if _prefixed_cell(segment, start, end):
            raise _NeedsCellWalk
        # In sheet data only cells' tags start "<c"; all are plain, so all start '<c r="'
        # (a longer needle, counted faster).
        found = segment.count(b'<c r="', start, end)
        if not found:
            continue
        cells += found
        if cells > lim.max_cells_per_sheet:
            return _Extent(name, cells=cells).over(lim)
    return None


def _note_merged(segment: bytes, name: str, merged: set[str]) -> None:
    """A mention of merged cells (a "mergeCell" anywhere, a text too: only ever a detour)."""
    if b"mergeCell" in segment:
        merged.add(name)


def _declares(segment: bytes) -> bool:
    """Whether ``segment`` holds a DTD or entity declaration.

    The "!" a declaration needs is looked for first: one byte is found at memory
    speed, and sheet data seldom holds any, so the pattern itself seldom runs.
    """
    return b"!" in segment and _DECLARATION.search(segment) is not None


def _prefixed_cell(segment: bytes, start: int, end: int) -> bool:
    """Whether ``segment[start:end]`` holds a cell tag with a namespace prefix (":" first)."""
    return segment.find(b":", start, end) >= 0 and bool(_PREFIXED_CELL.search(segment, start, end))


@cache
def _odd_cell(rows: int, columns: int) -> re.Pattern[bytes]:
    """A cell tag unlike Excel's and openpyxl's, or placed beyond ``rows`` x ``columns``.

    A plain tag has its reference first and no other attribute that is a reference,
    so the cell's position is its reference and nothing else. The pattern matches the
    ``<c`` of any other cell tag, so one search tells whether every cell is plain. (The
    quantifiers are possessive only to spare backtracking: none could help a match.)
    """
    letters = _up_to(get_column_letter(columns), "A", "Z")
    digits = _up_to(str(rows), "0", "9")
    plain = rf' r="{letters}{digits}"(?: (?:s|t|cm|vm|ph)="[^"<>]*+")*+\s*+/?>'
    return re.compile(rf"<c(?!{plain})".encode())


def _up_to(last: str, low: str, high: str) -> str:
    """A pattern for the strings of ``low``..``high`` that sort, as numbers do, up to ``last``.

    Shorter strings come first; among equal lengths, alphabetical order. Digit strings
    start with 1-9, so this is numeric order for numbers and column order for letters.
    """
    first = "1" if low == "0" else low
    alternatives = [f"[{first}-{high}][{low}-{high}]{{0,{len(last) - 2}}}"] if len(last) > 1 else []
    for i, ch in enumerate(last):
        below = first if i == 0 else low
        if ch > below:
            rest = len(last) - i - 1
            alternatives.append(f"{last[:i]}[{below}-{chr(ord(ch) - 1)}][{low}-{high}]{{{rest}}}")
    alternatives.append(last)
    return "(?:" + "|".join(alternatives) + ")"


def _shared_strings(segment: bytes) -> int:
    return (
        segment.count(b"<si>")
        + segment.count(b"<si ")
        + len(_PREFIXED_SHARED_STRING.findall(segment))
    )


def _walk_cells(
    f: BinaryIO, info: zipfile.ZipInfo, name: str, lim: Limits, merged: set[str]
) -> Finding | None:
    """Place every cell as calamine does: a row or cell without a reference follows the last.

    A cell whose reference names another row than its row tag counts at both, so
    neither reading of such a file can reach further than measured here.
    """
    extent = _Extent(name)
    row = column = 0
    for segment in _segments(_unpacked(f, info)):
        _note_merged(segment, name, merged)
        for m in _TAG.finditer(segment):
            if not _ATTRIBUTES.fullmatch(m[2]):
                return damaged(info.filename, msg("has a cell tag unlike"))
            attributes = {k: v or w for k, v, w in _ATTRIBUTE.findall(m[2])}  # the last wins
            ref = attributes.get(b"r")
            if m[1] == b"row":
                if ref is not None and not ref.isdigit():
                    numbered = msg("has a row numbered '{row}', unlike", row=_text(ref))
                    return damaged(info.filename, numbered)
                row, column = (int(ref) if ref else row + 1), 0
                continue
            cell_row = row
            if ref is None:
                column += 1
            else:
                cell = _CELL_NAME.fullmatch(ref)
                if cell is None:
                    named = msg("has a cell named '{cell}', unlike", cell=_text(ref))
                    return damaged(info.filename, named)
                column, cell_row = _column(cell[1]), int(cell[2])
            extent.cells += 1
            extent.rows = max(extent.rows, row, cell_row)
            extent.columns = max(extent.columns, column)
            if extent.over(lim):
                return extent.over(lim)
    return None


def _unpacked(f: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A part's bytes, unpacked from the file in chunks, never beyond its declared size.

    The zip library would stop at the declared size; calamine's zip reader trusts the
    compressed size and unpacks whatever it holds. So the real size is measured here,
    and the checksum compared, before calamine is let near the file.
    """
    f.seek(info.header_offset)
    magic, name_length, extra_length = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
    if magic != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"part {info.filename} does not start where the directory says")
    f.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left, produced, crc = info.compress_size, 0, 0
    while left > 0:
        packed = f.read(min(left, 1 << 16))
        if not packed:
            raise zipfile.BadZipFile(f"part {info.filename} is cut off")
        left -= len(packed)
        data = inflater.decompress(packed, _CHUNK) if inflater else packed
        while data:
            produced += len(data)
            if produced > info.file_size:
                raise _Oversized(info.filename)
            crc = zlib.crc32(data, crc)
            yield data
            data = inflater.decompress(inflater.unconsumed_tail, _CHUNK) if inflater else b""
    if inflater:
        data = inflater.flush()
        produced += len(data)
        if produced > info.file_size:
            raise _Oversized(info.filename)
        crc = zlib.crc32(data, crc)
        yield data
    if produced != info.file_size or crc != info.CRC:
        raise zipfile.BadZipFile(f"part {info.filename} is damaged (size or checksum differ)")


def _segments(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Unpacked chunks re-cut so that no tag is split between two segments."""
    tail = b""
    for chunk in chunks:
        buffer = tail + chunk
        cut = buffer.rfind(b"<")
        if cut < 0 or buffer.find(b">", cut) >= 0:  # the last tag is complete: text may follow
            tail = b""
            yield buffer
            continue
        tail = buffer[cut:]
        if len(tail) > MAX_TAG_BYTES:
            raise _TagTooLong
        if cut:
            yield buffer[:cut]
    if tail:
        yield tail


def _column(letters: bytes | str) -> int:
    text = letters.decode("ascii") if isinstance(letters, bytes) else letters
    return column_index_from_string(text.upper())


def _text(raw: bytes) -> str:
    return raw[:40].decode("utf-8", "replace")
