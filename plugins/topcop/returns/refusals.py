"""What a refused file is told: one message per reason a file cannot be read as a return.

The inspection finds the reason; the words a focal point reads, and what to do
about it, are kept here together so they stay consistent across the checks.
"""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from topcop.config import Limits
from topcop.findings import Finding, file_error

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
SAVE_AS_XLSX = "In Excel choose File > Save As > 'Excel Workbook (*.xlsx)' and send that file."


def bomb(detail: str, value: object) -> Finding:
    return file_error(
        "file_zip_bomb",
        f"The workbook expands to far more data than a return can hold{detail}, so it was not "
        "opened. Please send the template filled with the return's data only.",
        value,
    )


def sheet_too_large(sheet: str, rows: int, columns: int, cells: int, lim: Limits) -> Finding:
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


def too_many_texts(part: str, lim: Limits) -> Finding:
    return file_error(
        "file_too_many_texts",
        f"The workbook holds more than {lim.max_cells_per_sheet:,} different texts, more than "
        "a return's sheets can hold. Please send the template filled with the return's data "
        "only.",
        part,
    )


def xml_declarations(part: str) -> Finding:
    return file_error(
        "file_xml_entities",
        f"Part {part} of the workbook declares XML entities or a document type, which no "
        "spreadsheet program writes and which can make a reader expand a few bytes into "
        "gigabytes. The file was refused unread. " + SAVE_AS_XLSX,
        part,
    )


def damaged(part: str, what: str) -> Finding:
    return file_error(
        "file_unreadable",
        f"Part {part} of the workbook {what} what spreadsheet programs write; the file is "
        "damaged or was not made by one. " + SAVE_AS_XLSX,
        part,
    )


def encrypted(name: str) -> Finding:
    return file_error(
        "file_encrypted",
        "The workbook is protected with a password (encrypted), so it cannot be read. Remove "
        "the password (File > Info > Protect Workbook > Encrypt with Password, clear it), save "
        "and send it again. Sheet protection without a password is fine.",
        name,
    )


def legacy_xls(name: str) -> Finding:
    return file_error(
        "file_legacy_xls",
        "The file is in the old Excel 97-2003 format (.xls), which is not accepted. "
        + SAVE_AS_XLSX,
        name,
    )


def ods(name: str) -> Finding:
    return file_error(
        "file_ods",
        "The file is an OpenDocument spreadsheet (.ods), which is not accepted. In LibreOffice "
        "choose File > Save As > 'Excel 2007-365 (.xlsx)' and send that file.",
        name,
    )


def not_xlsx(name: str, head: bytes = b"") -> Finding:
    kind = file_kind(head)
    what = (
        f"it is {kind}, renamed" if kind else "it may be another kind of file renamed, or damaged"
    )
    return file_error(
        "file_not_xlsx",
        f"The file is named .xlsx but is not an Excel workbook ({what}). " + SAVE_AS_XLSX,
        name,
    )


def mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def file_kind(head: bytes) -> str | None:
    """What a file whose first bytes are `head` is, when its magic says (a picture, a PDF...)."""
    return next((kind for magic, kind in _KINDS if head.startswith(magic)), None)
