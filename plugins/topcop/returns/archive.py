"""A workbook's zip, checked before any part is unpacked: parts, sizes, ratios, sheet names.

The zip directory says how many parts there are, how large each claims to be and
how much each packs; a zip bomb or a cut-off upload shows there. The workbook's
own index (workbook.xml and its relations, small and read with defusedxml) says
which part is which sheet, so a later finding can name the sheet, not the part.
"""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from topcop.config import Limits
from topcop.findings import Finding, file_error
from topcop.i18n import Number, msg
from topcop.returns.refusals import (
    bomb,
    encrypted,
    mb,
    not_xlsx,
    ods,
    xml_declarations,
)
from topcop.returns.sheet_parts import inspect_parts

# A small part that expands a lot is still small: the ratio limit guards large expansions.
RATIO_FLOOR_BYTES = 1 << 20
MAX_INDEX_PART_BYTES = 4 << 20
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def inspect_zip(
    path: Path, ext: str, size: int, lim: Limits, merged: set[str] | None = None
) -> list[Finding]:
    members = _declared_members(path)
    if members is not None and members > lim.max_zip_members:
        return [
            file_error(
                "file_too_many_parts",
                msg(
                    "The workbook is made of {members} parts; a spreadsheet has a few dozen and "
                    "at most {max_members} are accepted. Please send the template filled with "
                    "the return's data only.",
                    members=Number(members),
                    max_members=Number(lim.max_zip_members),
                ),
                members,
            )
        ]
    try:
        with zipfile.ZipFile(path) as archive:
            return _inspect_archive(archive, path, ext, size, lim, merged)
    except zipfile.BadZipFile as e:
        return [
            file_error(
                "file_truncated",
                msg(
                    "The file is incomplete or damaged: it starts like an Excel workbook but "
                    "cannot be opened as one (often an interrupted upload or copy). Please send "
                    "it again."
                ),
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
                msg(
                    "The workbook could not be opened: it is damaged or uses a format this "
                    "service cannot read. In Excel choose File > Save As > 'Excel Workbook "
                    "(*.xlsx)' and send that file."
                ),
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
    archive: zipfile.ZipFile,
    path: Path,
    ext: str,
    size: int,
    lim: Limits,
    merged: set[str] | None,
) -> list[Finding]:
    infos = archive.infolist()
    names = {i.filename for i in infos}
    if "mimetype" in names and b"opendocument" in peek(archive, "mimetype", 200):
        return [ods(path.name)]
    if any(i.header_offset + i.compress_size > size for i in infos):
        return [
            file_error(
                "file_truncated",
                msg(
                    "The file is incomplete: parts of the workbook are cut off (often an "
                    "interrupted upload or copy). Please send it again."
                ),
                size,
            )
        ]
    bomb = _zip_bomb(infos, lim)
    if bomb:
        return [bomb]
    findings = []
    if any(i.flag_bits & 0x1 for i in infos):
        findings.append(encrypted(path.name))
    if ext == ".xlsm" or any(PurePosixPath(n).name.lower() == "vbaproject.bin" for n in names):
        findings.append(
            file_error(
                "file_macros",
                msg(
                    "The workbook contains macros (VBA code), which are refused for security. In "
                    "Excel choose File > Save As > 'Excel Workbook (*.xlsx)' and send that file."
                ),
                path.name,
            )
        )
    # Embedded files are never read here, but the file is archived and may be opened later.
    embedded = sorted(n for n in names if n.startswith(("xl/embeddings/", "xl/activeX/")))
    if embedded:
        findings.append(
            file_error(
                "file_embedded_objects",
                msg(
                    "The workbook carries embedded files or controls (a document, an archive or "
                    "an ActiveX control inside the workbook), which are refused for security: a "
                    "return holds figures only. Delete the embedded objects, save and send it "
                    "again."
                ),
                embedded[0],
            )
        )
    links = sorted(n for n in names if n.startswith("xl/externalLinks/"))
    if links:
        findings.append(
            file_error(
                "file_external_links",
                msg(
                    "The workbook has links to other files, which are refused: the figures must "
                    "be in the return itself. In Excel use Data > Edit Links > Break Link, then "
                    "save."
                ),
                links[0],
            )
        )
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        findings.append(not_xlsx(path.name))
    odd = next(
        (i for i in infos if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)),
        None,
    )
    if odd is not None and not findings:
        findings.append(
            file_error(
                "file_unreadable",
                msg(
                    "The workbook is packed with a compression method spreadsheet programs do "
                    "not use. In Excel choose File > Save As > 'Excel Workbook (*.xlsx)' and send "
                    "that file."
                ),
                odd.filename,
            )
        )
    if findings:
        return findings
    parts = _sheet_parts(archive, names)
    if isinstance(parts, Finding):
        return [parts]
    return inspect_parts(path, infos, parts, lim, merged)


def _zip_bomb(infos: list[zipfile.ZipInfo], lim: Limits) -> Finding | None:
    total = sum(i.file_size for i in infos)
    if total > lim.max_uncompressed_bytes:
        unpacked = msg(
            " ({size} unpacked; at most {limit})",
            size=mb(total),
            limit=mb(lim.max_uncompressed_bytes),
        )
        return bomb(unpacked, total)
    for i in infos:
        if i.file_size <= RATIO_FLOOR_BYTES:
            continue
        ratio = i.file_size / i.compress_size if i.compress_size else float("inf")
        if ratio > lim.max_compression_ratio:
            packed = msg(
                " (part {part} is packed {ratio} to 1)",
                part=i.filename,
                ratio=round(ratio) if math.isfinite(ratio) else ratio,
            )
            return bomb(packed, i.filename)
    return None


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
            msg(
                "The workbook's list of sheets is far larger than a spreadsheet program writes; "
                "the file is damaged or was not made by one. In Excel choose File > Save As > "
                "'Excel Workbook (*.xlsx)' and send that file."
            ),
            "xl/workbook.xml",
        )
    try:
        workbook = SafeET.fromstring(archive.read("xl/workbook.xml"), forbid_dtd=True)
        rels = SafeET.fromstring(archive.read(rels_part), forbid_dtd=True)
    except DefusedXmlException:
        return xml_declarations("xl/workbook.xml")
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_NS}Relationship")}
    parts = {}
    for s in workbook.iter(f"{_MAIN_NS}sheet"):
        target = targets.get(s.get(_REL_ID), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part in names:
            parts[part] = s.get("name") or part
    return parts


def peek(archive: zipfile.ZipFile, name: str, size: int) -> bytes:
    with archive.open(name) as f:
        return f.read(size)
