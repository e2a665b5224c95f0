"""What a refused file is told: one message per reason a file cannot be read as a return.

The inspection finds the reason; the words a focal point reads, and what to do
about it, are kept here together so they stay consistent across the checks.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from topcop.config import Limits
from topcop.findings import Finding, file_error
from topcop.i18n import Number, Text, msg

# Each message is one msg() template (its gettext id), translated in the catalogs.
_KINDS = (
    (b"\x89PNG\r\n\x1a\n", msg("a PNG image")),
    (b"\xff\xd8\xff", msg("a JPEG image")),
    (b"GIF8", msg("a GIF image")),
    (b"%PDF-", msg("a PDF document")),
    (b"{\\rtf", msg("an RTF document")),
    (b"\x1f\x8b", msg("a gzip archive")),
    (b"Rar!", msg("a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", msg("a 7-Zip archive")),
)


def bomb(detail: Text, value: object) -> Finding:
    """``detail``: how far beyond the limit, a msg() phrase the caller words (`` (part ...)``)."""
    return file_error(
        "file_zip_bomb",
        msg(
            "The workbook expands to far more data than a return can hold{detail}, so it was "
            "not opened. Please send the template filled with the return's data only.",
            detail=detail,
        ),
        value,
    )


def sheet_too_large(sheet: str, rows: int, columns: int, cells: int, lim: Limits) -> Finding:
    """A sheet beyond the limits: reached row and column as the focal point would find them."""
    letters = get_column_letter(min(max(columns, 1), 18_278))  # ZZZ: three letters at most
    limits = {
        "sheet": sheet,
        "rows": Number(rows),
        "column": letters,
        "max_rows": Number(lim.max_rows_per_sheet),
        "max_columns": Number(lim.max_columns_per_sheet),
        "max_cells": Number(lim.max_cells_per_sheet),
    }
    if cells > lim.max_cells_per_sheet:
        message = msg(
            "Sheet '{sheet}' reaches row {rows} and column {column} and holds {cells} cells; at "
            "most {max_rows} rows, {max_columns} columns and {max_cells} cells are accepted. "
            "Delete anything typed or formatted far below or to the right of the data.",
            cells=Number(cells),
            **limits,
        )
    else:
        message = msg(
            "Sheet '{sheet}' reaches row {rows} and column {column}; at most {max_rows} rows, "
            "{max_columns} columns and {max_cells} cells are accepted. Delete anything typed or "
            "formatted far below or to the right of the data.",
            **limits,
        )
    return file_error("file_sheet_too_large", message, f"{letters}{rows}")


def too_many_texts(part: str, lim: Limits) -> Finding:
    return file_error(
        "file_too_many_texts",
        msg(
            "The workbook holds more than {max_cells} different texts, more than a return's "
            "sheets can hold. Please send the template filled with the return's data only.",
            max_cells=Number(lim.max_cells_per_sheet),
        ),
        part,
    )


def xml_declarations(part: str) -> Finding:
    return file_error(
        "file_xml_entities",
        msg(
            "Part {part} of the workbook declares XML entities or a document type, which no "
            "spreadsheet program writes and which can make a reader expand a few bytes into "
            "gigabytes. The file was refused unread. In Excel choose File > Save As > 'Excel "
            "Workbook (*.xlsx)' and send that file.",
            part=part,
        ),
        part,
    )


def damaged(part: str, what: Text) -> Finding:
    """``what``: how the part differs, a msg() phrase the caller words (``has a cell tag unlike``)."""
    return file_error(
        "file_unreadable",
        msg(
            "Part {part} of the workbook {what} what spreadsheet programs write; the file is "
            "damaged or was not made by one. In Excel choose File > Save As > 'Excel Workbook "
            "(*.xlsx)' and send that file.",
            part=part,
            what=what,
        ),
        part,
    )


def encrypted(name: str) -> Finding:
    return file_error(
        "file_encrypted",
        msg(
            "The workbook is protected with a password (encrypted), so it cannot be read. "
            "Remove the password (File > Info > Protect Workbook > Encrypt with Password, clear "
            "it), save and send it again. Sheet protection without a password is fine."
        ),
        name,
    )


def legacy_xls(name: str) -> Finding:
    return file_error(
        "file_legacy_xls",
        msg(
            "The file is in the old Excel 97-2003 format (.xls), which is not accepted. In "
            "Excel choose File > Save As > 'Excel Workbook (*.xlsx)' and send that file."
        ),
        name,
    )


def ods(name: str) -> Finding:
    return file_error(
        "file_ods",
        msg(
            "The file is an OpenDocument spreadsheet (.ods), which is not accepted. In "
            "LibreOffice choose File > Save As > 'Excel 2007-365 (.xlsx)' and send that file."
        ),
        name,
    )


def not_xlsx(name: str, head: bytes = b"") -> Finding:
    kind = next((kind for magic, kind in _KINDS if head.startswith(magic)), None)
    if kind is not None:
        message = msg(
            "The file is named .xlsx but is not an Excel workbook (it is {kind}, renamed). In "
            "Excel choose File > Save As > 'Excel Workbook (*.xlsx)' and send that file.",
            kind=kind,
        )
    else:
        message = msg(
            "The file is named .xlsx but is not an Excel workbook (it may be another kind of "
            "file renamed, or damaged). In Excel choose File > Save As > 'Excel Workbook "
            "(*.xlsx)' and send that file."
        )
    return file_error("file_not_xlsx", message, name)


def mb(size: int) -> Text:
    """A size in megabytes with one decimal (``12.0 MB``), the figure in the language's way."""
    return msg("{size} MB", size=round(size / 1_000_000, 1))


def file_kind(head: bytes) -> Text | None:
    """What a file whose first bytes are `head` is, when its magic says (a picture, a PDF...)."""
    return next((kind for magic, kind in _KINDS if head.startswith(magic)), None)
