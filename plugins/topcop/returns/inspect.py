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
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from openpyxl.utils import column_index_from_string, get_column_letter

from topcop import config
from topcop.config import Limits
from topcop.findings import Finding, file_error

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # the second starts an empty archive
ACCEPTED = (".xlsx", ".csv")
# A small part that expands a lot is still small: the ratio limit guards large expansions.
RATIO_FLOOR_BYTES = 1 << 20
MAX_INDEX_PART_BYTES = 4 << 20
# A tag longer than this is no spreadsheet's: refusing it keeps the tag scan's memory flat.
MAX_TAG_BYTES = 1 << 20
_CHUNK = 1 << 20
_HEAD_BYTES = 8192
# Stream names inside an OLE2 compound file, as its directory stores them (UTF-16LE).
_ENCRYPTED_STREAMS = ("EncryptionInfo", "EncryptedPackage")
_XLS_STREAMS = ("Workbook", "Book")
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_LOCAL_HEADER = struct.Struct("<4s22xHH")

# What other kinds of file look like in their first bytes, to say what was sent instead.
_KINDS = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)

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

SAVE_AS_XLSX = "In Excel choose File > Save As > 'Excel Workbook (*.xlsx)' and send that file."


def inspect_file(path: Path, limits: Limits | None = None) -> list[Finding]:
    """Problems that make ``path`` unfit to be read as a return; empty when it may be read."""
    lim = limits or config.limits()
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
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
        return _inspect_csv(path.name, head, is_zip)
    if ext in (".xlsx", ".xlsm") or (is_zip and ext == ".ods"):
        if not is_zip:
            return [_not_xlsx(path.name, head)]
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


def _inspect_csv(name: str, head: bytes, is_zip: bool) -> list[Finding]:
    if is_zip:
        return [
            file_error(
                "file_not_csv",
                "The file is named .csv but is an Excel workbook. Send it named .xlsx, or "
                "save it from Excel as 'CSV UTF-8 (Comma delimited)'.",
                name,
            )
        ]
    kind = _kind(head)
    # Text has no NUL bytes, except UTF-16, which the reader names as such.
    if kind or (b"\x00" in head and not looks_utf16(head)):
        return [
            file_error(
                "file_not_csv",
                f"The file is named .csv but is not text (it is {kind or 'a binary file'}). "
                "Save the return from Excel as 'CSV UTF-8 (Comma delimited)' and send that file.",
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


def _kind(head: bytes) -> str | None:
    return next((kind for magic, kind in _KINDS if head.startswith(magic)), None)


# --- workbooks: the zip directory ------------------------------------------------


def _inspect_zip(path: Path, ext: str, size: int, lim: Limits) -> list[Finding]:
    members = _declared_members(path)
    if members is not None and members > lim.max_zip_members:
        return [
            file_error(
                "file_too_many_parts",
                f"The workbook is made of {members:,} parts; a spreadsheet has a few dozen and "
                f"at most {lim.max_zip_members:,} are accepted. Please send the template filled "
                "with the return's data only.",
                members,
            )
        ]
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


def _declared_members(path: Path) -> int | None:
    """How many parts the zip's end record declares, read before its directory is loaded.

    A directory of a million entries costs hundreds of megabytes to load; the count
    in the end record costs 22 bytes. None when there is no end record (the zip
    library then reports the file as damaged).
    """
    with open(path, "rb") as f:
        f.seek(0, 2)
        length = f.tell()
        f.seek(max(0, length - (1 << 16) - 22))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    (total,) = struct.unpack_from("<H", tail, at + 10)
    # 0xFFFF: the real count is in a ZIP64 record, which no spreadsheet needs.
    return 1 << 16 if total == 0xFFFF else total


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
    # Embedded files are never read here, but the file is archived and may be opened later.
    embedded = sorted(n for n in names if n.startswith(("xl/embeddings/", "xl/activeX/")))
    if embedded:
        findings.append(
            file_error(
                "file_embedded_objects",
                "The workbook carries embedded files or controls (a document, an archive or an "
                "ActiveX control inside the workbook), which are refused for security: a return "
                "holds figures only. Delete the embedded objects, save and send it again.",
                embedded[0],
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
    odd = next(
        (i for i in infos if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)),
        None,
    )
    if odd is not None and not findings:
        findings.append(
            file_error(
                "file_unreadable",
                "The workbook is packed with a compression method spreadsheet programs do not "
                "use. " + SAVE_AS_XLSX,
                odd.filename,
            )
        )
    if findings:
        return findings
    parts = _sheet_parts(archive, names)
    if isinstance(parts, Finding):
        return [parts]
    return _inspect_parts(path, infos, parts, lim)


def _zip_bomb(infos: list[zipfile.ZipInfo], lim: Limits) -> Finding | None:
    total = sum(i.file_size for i in infos)
    if total > lim.max_uncompressed_bytes:
        detail = f" ({_mb(total)} unpacked; at most {_mb(lim.max_uncompressed_bytes)})"
        return _bomb(detail, total)
    for i in infos:
        if i.file_size <= RATIO_FLOOR_BYTES:
            continue
        ratio = i.file_size / i.compress_size if i.compress_size else float("inf")
        if ratio > lim.max_compression_ratio:
            return _bomb(f" (part {i.filename} is packed {ratio:.0f} to 1)", i.filename)
    return None


def _bomb(detail: str, value: object) -> Finding:
    return file_error(
        "file_zip_bomb",
        f"The workbook expands to far more data than a return can hold{detail}, so it was not "
        "opened. Please send the template filled with the return's data only.",
        value,
    )


def _sheet_parts(archive: zipfile.ZipFile, names: set[str]) -> dict[str, str] | Finding:
    """Zip member -> sheet name, through the workbook's relationships (for messages)."""
    rels_part = "xl/_rels/workbook.xml.rels"
    if rels_part not in names:
        return {}
    # Both parts are a few kB in any real workbook.
    if any(
        archive.getinfo(n).file_size > MAX_INDEX_PART_BYTES for n in ("xl/workbook.xml", rels_part)
    ):
        return file_error(
            "file_unreadable",
            "The workbook's list of sheets is far larger than a spreadsheet program writes; the "
            "file is damaged or was not made by one. " + SAVE_AS_XLSX,
            "xl/workbook.xml",
        )
    try:
        workbook = SafeET.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True)
        rels = SafeET.fromstring(archive.read(rels_part), forbid_dtd=True)
    except DefusedXmlException:
        return _xml_declarations("xl/workbook.xml")
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_NS}Relationship")}
    parts = {}
    for s in workbook.iter(f"{_MAIN_NS}sheet"):
        target = targets.get(s.get(_REL_ID), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part in names:
            parts[part] = s.get("name") or part
    return parts


# --- workbooks: every part, unpacked as a stream -----------------------------------


class _Oversized(Exception):
    """A part unpacks to more bytes than its directory entry declares."""


class _TagTooLong(Exception):
    """A single tag runs over MAX_TAG_BYTES: no spreadsheet writes one."""


def _inspect_parts(
    path: Path, infos: list[zipfile.ZipInfo], sheets: dict[str, str], lim: Limits
) -> list[Finding]:
    with open(path, "rb") as f:
        for info in infos:
            name = sheets.get(info.filename, info.filename)
            try:
                try:
                    finding = _inspect_part(f, info, name, lim)
                except _NeedsCellWalk:
                    finding = _walk_cells(f, info, name, lim)
            except _Oversized:
                return [
                    _bomb(
                        f" (part {info.filename} unpacks to more than the "
                        f"{info.file_size:,} bytes it declares)",
                        info.filename,
                    )
                ]
            except _TagTooLong:
                return [_damaged(info.filename, "holds an XML tag longer than any")]
            if finding is not None:
                return [finding]
    return []


class _Oversized(Exception):
    """A part unpacks to more bytes than its directory entry declares."""


class _TagTooLong(Exception):
    """A single tag runs over MAX_TAG_BYTES: no spreadsheet writes one."""


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
        return _too_large(self.sheet, self.rows, self.columns, self.cells, lim)


def _inspect_part(f: BinaryIO, info: zipfile.ZipInfo, name: str, lim: Limits) -> Finding | None:
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
            return _xml_declarations(info.filename)
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
                return _too_many_texts(info.filename, lim)
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


def _walk_cells(f: BinaryIO, info: zipfile.ZipInfo, name: str, lim: Limits) -> Finding | None:
    """Place every cell as calamine does: a row or cell without a reference follows the last.

    A cell whose reference names another row than its row tag counts at both, so
    neither reading of such a file can reach further than measured here.
    """
    extent = _Extent(name)
    row = column = 0
    for segment in _segments(_unpacked(f, info)):
        for m in _TAG.finditer(segment):
            if not _ATTRIBUTES.fullmatch(m[2]):
                return _damaged(info.filename, "has a cell tag unlike")
            attributes = {k: v or w for k, v, w in _ATTRIBUTE.findall(m[2])}  # the last wins
            ref = attributes.get(b"r")
            if m[1] == b"row":
                if ref is not None and not ref.isdigit():
                    return _damaged(info.filename, f"has a row numbered '{_text(ref)}', unlike")
                row, column = (int(ref) if ref else row + 1), 0
                continue
            cell_row = row
            if ref is None:
                column += 1
            else:
                cell = _CELL_NAME.fullmatch(ref)
                if cell is None:
                    return _damaged(info.filename, f"has a cell named '{_text(ref)}', unlike")
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


def _peek(archive: zipfile.ZipFile, name: str, size: int) -> bytes:
    with archive.open(name) as f:
        return f.read(size)


# --- findings --------------------------------------------------------------------


def _too_large(sheet: str, rows: int, columns: int, cells: int, lim: Limits) -> Finding:
    """A sheet beyond the limits: reached row and column as the focal point would find them."""
    letters = get_column_letter(min(max(columns, 1), 18_278))  # ZZZ: three letters at most
    counted = f" and holds {cells:,} cells" if cells > lim.max_cells_per_sheet else ""
    return file_error(
        "file_sheet_too_large",
        f"Sheet '{sheet}' reaches row {rows:,} and column {letters}{counted}; "
        f"at most {lim.max_rows_per_sheet:,} rows, {lim.max_columns_per_sheet} columns and "
        f"{lim.max_cells_per_sheet:,} cells are accepted. Delete anything typed or formatted far "
        "below or to the right of the data.",
        f"{letters}{rows}",
    )


def _too_many_texts(part: str, lim: Limits) -> Finding:
    return file_error(
        "file_too_many_texts",
        f"The workbook holds more than {lim.max_cells_per_sheet:,} different texts, more than "
        "a return's sheets can hold. Please send the template filled with the return's data "
        "only.",
        part,
    )


def _xml_declarations(part: str) -> Finding:
    return file_error(
        "file_xml_entities",
        f"Part {part} of the workbook declares XML entities or a document type, which no "
        "spreadsheet program writes and which can make a reader expand a few bytes into "
        "gigabytes. The file was refused unread. " + SAVE_AS_XLSX,
        part,
    )


def _damaged(part: str, what: str) -> Finding:
    return file_error(
        "file_unreadable",
        f"Part {part} of the workbook {what} what spreadsheet programs write; the file is "
        "damaged or was not made by one. " + SAVE_AS_XLSX,
        part,
    )


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


def _not_xlsx(name: str, head: bytes = b"") -> Finding:
    kind = _kind(head)
    what = (
        f"it is {kind}, renamed" if kind else "it may be another kind of file renamed, or damaged"
    )
    return file_error(
        "file_not_xlsx",
        f"The file is named .xlsx but is not an Excel workbook ({what}). " + SAVE_AS_XLSX,
        name,
    )


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
