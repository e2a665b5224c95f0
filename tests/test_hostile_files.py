"""Hostile and damaged returns, each through the real pipeline from inbox to receipt.

Every case is a file a focal point's software, a careless copy or an attacker could
drop in an inbox. Each runs through ``process_return`` on a local landing and its
own SQLite warehouse, and must end with: the status decided below (and why, in the
case's ``why``), the file kept whole in quarantine (rejected) or archive (accepted),
a receipt naming the rule and saying what to do, and no fact of a rejected file in
the warehouse. Files that could blow up a reader (bombs, entities, huge sheets) run
in a child process held to 1.5 GiB of address space and a time guard, so running
out of either fails the test instead of the machine.

Decisions taken here, in short (docs/bad_files.md says them for focal points):
- refused before anything is decoded: wrong or disguised file types, encryption,
  macros, embedded objects, external links, zip bombs, XML entities, sheets past the
  row/column/cell limits, unsafe file names;
- text is data: formula and DDE payloads in free text are stored verbatim as text,
  never evaluated; a real formula cell is read as the value Excel saved with it;
- a hidden data sheet is read, with a warning; other hidden sheets are never read;
- "1 234" is 1234; "1,234" is refused as ambiguous; CSV must be UTF-8 (a code page
  is named, never guessed).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import hostile
import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine, text

from topcop import config
from topcop.config import codelists, limits
from topcop.ingest import process_return
from topcop.landing.local import LocalLanding
from topcop.returns.inspect import inspect_file
from topcop.returns.model import INDICATOR_COLUMNS
from topcop.returns.reader import read_return
from topcop.returns.samples import SampleReturn, fill_template, sample_content, write_csv
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

TODAY = date(2026, 8, 15)
NOW = datetime(2026, 8, 15, 9, 0, tzinfo=UTC)
PERIOD = "2026-Q2"
WORKBOOK = f"GE_{PERIOD}.xlsx"
INDICATORS_CSV = f"GE_{PERIOD}_indicators.csv"
SEIZURES_CSV = f"GE_{PERIOD}_seizures.csv"
ADDRESS_SPACE = 3 << 29  # 1.5 GiB for a child reading a file that could blow up
GUARD_SECONDS = 300  # a hang guard, not a speed requirement
STATUSES = ("accepted", "accepted_with_warnings", "rejected", "duplicate")


# --- the base return every case starts from --------------------------------------


@dataclass(frozen=True)
class Base:
    sample: SampleReturn
    workbook: Path  # the filled template: cases copy it, never change it

    def sample_copy(self) -> SampleReturn:
        return copy.deepcopy(self.sample)

    def standalone_row(self) -> int:
        """Index of an indicator row with a value and no total, breakdown or chain to upset."""
        lists = codelists()
        return next(
            i
            for i, r in enumerate(self.sample.indicators)
            if r["value"] is not None
            and r["obs_status"] == "A"
            and not lists.indicators[r["indicator"]].breakdowns
            and lists.indicators[r["indicator"]].justice_chain_step is None
        )


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    sample = sample_content("GE", PERIOD, seed=1, seizure_rows=20)
    return Base(sample, fill_template(sample, tmp_path_factory.mktemp("base") / WORKBOOK))


@pytest.fixture(scope="module")
def seeded_warehouse(tmp_path_factory) -> Path:
    """A warehouse already holding another unit's accepted return, so "no change" means something."""
    folder = tmp_path_factory.mktemp("seeded")
    landing = LocalLanding(folder / "landing")
    engine = warehouse_engine(f"sqlite:///{folder / 'warehouse.db'}")
    migrate(engine)
    md = sample_content("MD", PERIOD, seed=2, seizure_rows=5)
    fill_template(md, landing.area("MD", "inbox") / f"MD_{PERIOD}.xlsx")
    (item,) = landing.list_inbox("MD")
    assert process_return(item, landing=landing, engine=engine, today=TODAY, now=NOW).loaded
    engine.dispose()
    return folder / "warehouse.db"


# --- builders: (base, folder) -> the file to drop in the inbox --------------------

Builder = Callable[[Base, Path], Path]


def _bytes(name: str, data: bytes | Callable[[Base], bytes]) -> Builder:
    def build(b: Base, folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data(b) if callable(data) else data)
        return path

    return build


def _copy_as(name: str) -> Builder:
    return _bytes(name, lambda b: b.workbook.read_bytes())


def _zip(name: str = WORKBOOK, **changes: Any) -> Builder:
    return lambda b, folder: hostile.rezip(b.workbook, folder / name, **changes)


def _sheet(sheet: str, edit: Callable[[str, Base], str]) -> Builder:
    return lambda b, folder: hostile.edit_sheet(
        b.workbook, folder / WORKBOOK, sheet, lambda xml: edit(xml, b)
    )


def _filled(change: Callable[[SampleReturn, Base], Any], name: str = WORKBOOK) -> Builder:
    def build(b: Base, folder: Path) -> Path:
        sample = b.sample_copy()
        change(sample, b)
        return fill_template(sample, folder / name)

    return build


def _openpyxl(change: Callable[[openpyxl.Workbook], Any]) -> Builder:
    def build(b: Base, folder: Path) -> Path:
        wb = openpyxl.load_workbook(b.workbook)
        change(wb)
        wb.save(folder / WORKBOOK)
        return folder / WORKBOOK

    return build


def _csv(
    dataset: str = "indicators",
    change: Callable[[SampleReturn], Any] | None = None,
    name: str | None = None,
    **options: Any,
) -> Builder:
    def build(b: Base, folder: Path) -> Path:
        sample = b.sample_copy()
        if change:
            change(sample)
        indicators, seizures = write_csv(sample, folder / "csv", **options)
        path = indicators if dataset == "indicators" else seizures
        return path.rename(folder / (name or path.name))

    return build


def _sample_of(country: str, period: str) -> Builder:
    def build(b: Base, folder: Path) -> Path:
        sample = sample_content(country, period, seed=1, seizure_rows=5)
        return fill_template(sample, folder / f"{country}_{period}.xlsx")

    return build


def _payloads(b: Base, folder: Path) -> Path:
    """Every free-text field of a workbook holding a formula or DDE payload, as text cells."""
    sample, tokens = b.sample_copy(), {}

    def token(payload: str) -> str:
        tokens[f"PAYLOAD{len(tokens):03d}"] = payload
        return f"PAYLOAD{len(tokens) - 1:03d}"

    payloads = hostile.FORMULA_PAYLOADS
    sample.metadata["focal_point_ref"] = token(payloads[0])
    sample.metadata["remarks"] = token(payloads[1])
    for i, payload in enumerate(payloads):
        sample.indicators[i]["comment"] = token(payload)
        seizure = sample.seizures[i]
        seizure["seizure_ref"] = token(f"{payload}#{i}")
        seizure["region"] = token(payload)
        seizure["concealment"] = token(payloads[-1 - i])
    plain = fill_template(sample, folder / "plain.xlsx")
    return hostile.replace_tokens(plain, folder / WORKBOOK, tokens)


def _csv_payloads(dataset: str) -> Builder:
    def change(sample: SampleReturn) -> None:
        for i, payload in enumerate(hostile.FORMULA_PAYLOADS):
            sample.indicators[i]["comment"] = payload
            sample.seizures[i].update(
                seizure_ref=f"{payload}#{i}", region=payload, concealment=payload
            )

    return _csv(dataset, change)


def _formula(cached: bool) -> Builder:
    """A value computed by a formula: with the value Excel saved with it, or without one."""

    def edit(xml: str, b: Base) -> str:
        i = b.standalone_row()
        row, value = i + 2, b.sample.indicators[i]["value"]
        saved = f"<v>{value}</v>" if cached else ""
        xml = hostile.replace_cell(xml, f"D{row}", f'<c r="D{row}"><f>999999</f>{saved}</c>')
        dde = "<f>cmd|' /C calc'!A0</f><v>saved text</v>"
        return hostile.replace_cell(xml, f"H{row}", f'<c r="H{row}" t="str">{dde}</c>')

    return _sheet("indicators", edit)


def _hidden(state: str) -> Builder:
    return _zip(edit={"xl/workbook.xml": lambda x: hostile.set_sheet_state(x, "indicators", state)})


def _decoys(wb: openpyxl.Workbook) -> None:
    """Hidden sheets a reader must never take for data: a look-alike name and a payload sheet."""
    decoy = wb.create_sheet("Indicators ")
    decoy.sheet_state = "veryHidden"
    decoy.append(list(INDICATOR_COLUMNS))
    decoy.append(["THB", "OCG_IDENTIFIED", None, 999999, "COUNT", "A", "F", "decoy"])
    payload = wb.create_sheet("data")
    payload.sheet_state = "hidden"
    payload["A1"] = "=cmd|' /C calc'!A0"
    payload["A2"] = 999999


def _swap_columns(wb: openpyxl.Workbook) -> None:
    ws = wb["indicators"]
    for row in ws.iter_rows(min_col=4, max_col=8):
        row[0].value, row[4].value = row[4].value, row[0].value  # value <-> comment


def _move_header(wb: openpyxl.Workbook) -> None:
    ws = wb["indicators"]
    ws.insert_rows(1)
    ws["A1"] = f"Indicators, Georgia, {PERIOD}"


def _rows_past_the_limit(xml: str, b: Base) -> str:
    # Real rows past the limit, under a dimension that still says A1:L21.
    extra = hostile.sheet_rows(limits().max_rows_per_sheet + 1000, first=len(b.sample.seizures) + 2)
    return xml.replace("</sheetData>", extra + "</sheetData>")


def _far_cell(attributes: str) -> Callable[[str, Base], str]:
    """A cell in row 2 whose further attributes move it to ``XFD1048576`` for calamine."""

    def edit(xml: str, b: Base) -> str:
        return xml.replace('<c r="A2"', f'<c r="A2" {attributes}', 1)

    return edit


def _prefixed_cells_and_a_far_one(xml: str, b: Base) -> str:
    """Every cell written with a namespace prefix (<x:c>), as calamine still reads them."""
    xml = re.sub(r"<c(?=[\s>])", "<x:c", xml).replace("</c>", "</x:c>")
    xml = xml.replace("<worksheet ", f'<worksheet xmlns:x="{MAIN_NS}" ', 1)
    far = '<row r="1048576"><x:c r="XFD1048576"><v>1</v></x:c></row>'
    return xml.replace("</sheetData>", far + "</sheetData>")


def _lying_sizes(b: Base, folder: Path) -> Path:
    """The seizures part says it unpacks to 4 kB; it unpacks to more rows than the limit."""
    path = _sheet("seizures", _rows_past_the_limit)(b, folder)
    part = hostile.sheet_part(path, "seizures")
    return hostile.patch_members(path, lambda name, f: {**f, "size": 4096} if name == part else f)


def _ratio_bomb(b: Base, folder: Path) -> Path:
    path = hostile.rezip(b.workbook, folder / WORKBOOK)
    hostile.zeros_member(path, "xl/media/image1.png", 200 << 20)
    return path


def _nested_bomb(b: Base, folder: Path) -> Path:
    inner = folder / "inner.zip"
    hostile.zeros_member(inner, "bomb.bin", 64 << 20)
    return hostile.rezip(
        b.workbook, folder / WORKBOOK, add={"xl/embeddings/oleObject1.bin": inner.read_bytes()}
    )


def _csv_lines(b: Base, folder: Path) -> Path:
    header = ",".join(INDICATOR_COLUMNS)
    line = "THB,OCG_IDENTIFIED,,1,COUNT,A,F,\n"
    path = folder / INDICATORS_CSV
    path.write_text(header + "\n" + line * 1_000_000, encoding="utf-8")
    return path


def _unclosed_quote(b: Base, folder: Path) -> Path:
    header = ",".join(INDICATOR_COLUMNS)
    line = "THB,OCG_IDENTIFIED,,1,COUNT,A,F,fine\n"
    path = folder / INDICATORS_CSV
    path.write_text(
        header + "\n" + line + 'THB,OCG_DISRUPTED,,2,COUNT,A,F,"never closed\n' + line * 5000,
        encoding="utf-8",
    )
    return path


def _external_links(b: Base, folder: Path) -> Path:
    link = (
        b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<externalBook r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships"/></externalLink>'
    )
    rels = (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/externalLinkPath" Target="file:///C:/figures/secret.xlsx" '
        b'TargetMode="External"/></Relationships>'
    )
    return hostile.rezip(
        b.workbook,
        folder / WORKBOOK,
        add={
            "xl/externalLinks/externalLink1.xml": link,
            "xl/externalLinks/_rels/externalLink1.xml.rels": rels,
        },
    )


def _encrypted_zip(b: Base, folder: Path) -> Path:
    path = hostile.rezip(b.workbook, folder / WORKBOOK)
    return hostile.patch_members(path, lambda name, f: {**f, "flags": f["flags"] | 0x1})


def _standalone_value(value: str) -> Callable[[SampleReturn, Base], None]:
    def change(sample: SampleReturn, b: Base) -> None:
        sample.indicators[b.standalone_row()]["value"] = value

    return change


# --- checks beyond the common ones ----------------------------------------------


@dataclass
class Delivered:
    """What the pipeline made of one case: the status, receipt, file kept and warehouse."""

    status: str
    receipt: dict[str, Any]
    sent: bytes
    kept: list[Path]
    inbox: list[Path]
    engine: Engine
    before: dict[str, int]
    after: dict[str, int] = field(default_factory=dict)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def texts(self, table: str, column: str) -> set[str]:
        return {r[0] for r in self.rows(f"SELECT {column} FROM {table}") if r[0] is not None}


def _payloads_kept_verbatim(d: Delivered) -> None:
    payloads = set(hostile.FORMULA_PAYLOADS)
    if d.receipt["counts"]["indicator_rows"]:
        assert payloads <= d.texts("indicator_fact", "comment")
    if d.receipt["counts"]["seizure_rows"]:
        assert payloads <= d.texts("seizure_fact", "region")
        assert payloads <= d.texts("seizure_fact", "concealment")
        refs = d.texts("seizure_fact", "seizure_ref")
        assert {f"{p}#{i}" for i, p in enumerate(hostile.FORMULA_PAYLOADS)} <= refs


def _workbook_payloads_kept(d: Delivered) -> None:
    _payloads_kept_verbatim(d)
    (submission,) = d.rows(
        "SELECT focal_point_ref, remarks FROM submission WHERE reporting_unit = 'GE'"
    )
    assert tuple(submission) == hostile.FORMULA_PAYLOADS[:2]


def _value_at(d: Delivered, row: int) -> Any:
    (value,) = d.rows(
        "SELECT f.value FROM indicator_fact f JOIN submission s USING (submission_id) "
        "WHERE s.reporting_unit = 'GE' AND f.row_number = :row",
        row=row,
    )
    return value[0]


def _saved_values_read(d: Delivered, b: Base) -> None:
    i = b.standalone_row()
    assert _value_at(d, i + 2) == b.sample.indicators[i]["value"]  # not 999999: never evaluated
    (comment,) = d.rows(
        "SELECT comment FROM indicator_fact f JOIN submission s USING (submission_id) "
        "WHERE s.reporting_unit = 'GE' AND f.row_number = :row",
        row=i + 2,
    )
    assert comment[0] == "saved text"


def _decoys_not_read(d: Delivered, b: Base) -> None:
    assert d.receipt["counts"]["indicator_rows"] == len(b.sample.indicators)
    values = {r[0] for r in d.rows("SELECT value FROM indicator_fact")}
    assert 999999 not in values
    assert "decoy" not in d.texts("indicator_fact", "comment")


def _same_figures(d: Delivered, b: Base) -> None:
    stored = {
        (r.crime_area, r.indicator, r.breakdown): r.value
        for r in d.rows(
            "SELECT crime_area, indicator, breakdown, value FROM indicator_fact f "
            "JOIN submission s USING (submission_id) WHERE s.reporting_unit = 'GE'"
        )
    }
    assert stored == {
        (r["crime_area"], r["indicator"], r["breakdown"]): r["value"] for r in b.sample.indicators
    }


def _grouped_number_read(d: Delivered, b: Base) -> None:
    assert _value_at(d, b.standalone_row() + 2) == 1234


def _decimal_commas_read(d: Delivered, b: Base) -> None:
    stored = dict(
        d.rows(
            "SELECT seizure_ref, quantity FROM seizure_fact f "
            "JOIN submission s USING (submission_id) WHERE s.reporting_unit = 'GE'"
        )
    )
    expected = {r["seizure_ref"]: r["quantity"] for r in b.sample.seizures}
    expected[b.sample.seizures[0]["seizure_ref"]] = 1234.5
    assert stored == pytest.approx(expected)


def _group_quantity(sample: SampleReturn) -> None:
    sample.seizures[0]["quantity"] = "1 234,5"


def _no_file_content_in_receipt(d: Delivered) -> None:
    assert "root:" not in json.dumps(d.receipt)  # /etc/passwd was never read


# --- the corpus ------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    build: Builder
    status: str
    rules: tuple[str, ...]  # rule ids the receipt must hold
    why: str
    says: tuple[str, ...] = ()  # words the receipt's messages must contain
    unit: str = "GE"
    bounded: bool = False  # read in a child held to ADDRESS_SPACE
    check: Callable[..., None] | None = None  # (delivered) or (delivered, base)


REJECTED, ACCEPTED, WARNED = "rejected", "accepted", "accepted_with_warnings"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

CASES = [
    # --- the file itself: refused before anything in it is decoded
    Case("zero_byte_workbook", _bytes(WORKBOOK, b""), REJECTED, ("file_empty",),
         "An empty upload carries nothing to read.", ("empty",)),
    Case("zero_byte_csv", _bytes(INDICATORS_CSV, b""), REJECTED, ("file_empty",),
         "An empty upload carries nothing to read.", ("empty",)),
    Case("truncated_half", _bytes(WORKBOOK, lambda b: b.workbook.read_bytes()[:6000]), REJECTED,
         ("file_truncated",), "An interrupted upload: the zip directory is missing.",
         ("send it again",)),
    Case("truncated_end", _bytes(WORKBOOK, lambda b: b.workbook.read_bytes()[:-30]), REJECTED,
         ("file_truncated",), "The zip end record is cut: the file cannot be trusted whole."),
    Case("image_renamed_xlsx", _bytes(WORKBOOK, hostile.png()), REJECTED, ("file_not_xlsx",),
         "A picture is not a workbook; saying what it is helps the sender find the right file.",
         ("PNG image",)),
    Case("image_renamed_csv", _bytes(INDICATORS_CSV, hostile.png()), REJECTED, ("file_not_csv",),
         "Binary bytes are not CSV text.", ("PNG image",)),
    Case("word_document_renamed", lambda b, f: hostile.docx(f / WORKBOOK), REJECTED,
         ("file_not_xlsx",), "An Office zip without a workbook in it."),
    Case("legacy_xls", _bytes(f"GE_{PERIOD}.xls", hostile.ole2("Workbook")), REJECTED,
         ("file_legacy_xls",), "Excel 97-2003 is a binary format nobody here parses.",
         ("Save As",)),
    Case("legacy_xls_renamed_xlsx", _bytes(WORKBOOK, hostile.ole2("Workbook")), REJECTED,
         ("file_legacy_xls",), "The content decides, not the name."),
    Case("encrypted_workbook", _bytes(WORKBOOK, hostile.ole2("EncryptionInfo", "EncryptedPackage")),
         REJECTED, ("file_encrypted",), "A password-protected workbook cannot be read.",
         ("password",)),
    Case("encrypted_zip_members", _encrypted_zip, REJECTED, ("file_encrypted",),
         "Encrypted zip members cannot be read without a password."),
    Case("macro_enabled_xlsm",
         _zip(f"GE_{PERIOD}.xlsm", add={"xl/vbaProject.bin": hostile.ole2("VBA", "dir")}),
         REJECTED, ("file_macros",), "Macros are code; a return is data.", ("macros",)),
    Case("macros_inside_xlsx", _zip(add={"xl/vbaProject.bin": hostile.ole2("VBA", "dir")}),
         REJECTED, ("file_macros",), "A vbaProject.bin in a file named .xlsx is still macros."),
    Case("ods", lambda b, f: hostile.ods(f / f"GE_{PERIOD}.ods"), REJECTED, ("file_ods",),
         "The contract names xlsx and CSV.", ("LibreOffice",)),
    Case("ods_renamed_xlsx", lambda b, f: hostile.ods(f / WORKBOOK), REJECTED, ("file_ods",),
         "The content decides, not the name."),
    Case("external_links", _external_links, REJECTED, ("file_external_links",),
         "Figures must be in the file, not fetched from another.", ("Break Link",)),
    Case("embedded_zip_bomb", _nested_bomb, REJECTED, ("file_embedded_objects",),
         "An embedded file (here a nested zip bomb) is never read, but the archived return "
         "may be opened by an analyst later: embedded objects are refused."),
    # --- bombs and limits: refused before decoding, in bounded memory and time
    Case("zip_bomb_by_ratio", _ratio_bomb, REJECTED, ("file_zip_bomb",),
         "200 MiB of zeros packed 1000 to 1.", ("packed",), bounded=True),
    Case("zip_bomb_overlapping_entries",
         lambda b, f: hostile.overlapping_bomb(f / WORKBOOK, entries=300, kernel_bytes=1 << 20),
         REJECTED, ("file_zip_bomb",),
         "300 directory entries share one packed megabyte: 300 MiB declared, over the limit.",
         ("unpacked",), bounded=True),
    Case("zip_sizes_that_lie", _lying_sizes, REJECTED, ("file_zip_bomb",),
         "A part declares 4 kB and unpacks to megabytes: calamine trusts the packed size, so "
         "the real size is measured first.", ("declares",), bounded=True),
    Case("xml_entity_expansion",
         _sheet("indicators", lambda x, b: hostile.billion_laughs() + x.replace(
             "<t>HRCN</t>", "<t>&lol9;</t>", 1)),
         REJECTED, ("file_xml_entities",), "A billion laughs: refused, never expanded.",
         ("entities",), bounded=True),
    Case("xml_external_entity",
         _zip(edit={"xl/workbook.xml": lambda x: hostile.XXE.encode() + x.replace(
             b'name="instructions"', b'name="&xxe;"')}),
         REJECTED, ("file_xml_entities",), "An external entity would read a server file.",
         bounded=True, check=_no_file_content_in_receipt),
    Case("sheet_claiming_a_million_rows",
         _sheet("seizures", lambda x, b: re.sub(
             r'<dimension ref="[^"]*"/>', '<dimension ref="A1:L1000000"/>', x)),
         REJECTED, ("file_sheet_too_large",),
         "The sheet's own claim is past the row limit: refused before reading a cell.",
         ("1,000,000",), bounded=True),
    Case("rows_past_the_limit_under_a_small_claim", _sheet("seizures", _rows_past_the_limit),
         REJECTED, ("file_sheet_too_large",),
         "The dimension says 21 rows; the cells say 301,000: the cells are counted.",
         ("300,000 rows",), bounded=True),
    Case("one_cell_at_the_last_row_and_column",
         _sheet("seizures", lambda x, b: x.replace(
             "</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')),
         REJECTED, ("file_sheet_too_large",),
         "One far cell would make calamine allocate a grid of 17 billion cells.",
         ("XFD",), bounded=True),
    Case("far_cell_behind_a_repeated_reference", _sheet("seizures", _far_cell('r="XFD1048576"')),
         REJECTED, ("file_sheet_too_large",),
         "Of two references calamine takes the last, and so does the measure.", ("XFD",),
         bounded=True),
    Case("far_cell_behind_a_quoted_bracket", _sheet("seizures", _far_cell('x=">" r="XFD1048576"')),
         REJECTED, ("file_unreadable",),
         "A '>' inside a quoted value could hide the real reference from a tag scan; no "
         "spreadsheet writes one, so the tag is refused.", bounded=True),
    Case("far_cell_among_prefixed_cells", _sheet("seizures", _prefixed_cells_and_a_far_one),
         REJECTED, ("file_sheet_too_large",),
         "Cells written <x:c> are cells to calamine too; a sheet with no plain <c> cell was "
         "once passed over unmeasured.", ("XFD",), bounded=True),
    Case("thousands_of_zip_parts",
         _zip(add={f"customXml/item{i}.xml": b"<a/>" for i in range(1500)}),
         REJECTED, ("file_too_many_parts",), "The zip directory alone would cost memory.",
         ("1,5",), bounded=True),
    Case("csv_with_a_million_lines", _csv_lines, REJECTED, ("file_sheet_too_large",),
         "Counted while reading; reading stops at the limit.", ("300,000 rows",), bounded=True),
    Case("csv_unclosed_quote", _unclosed_quote, REJECTED, ("file_unreadable",),
         "One value swallows the rest of the file: far over any text limit.",
         ("double quote",), bounded=True),
    # --- CSV encodings and separators
    Case("csv_utf8_with_bom",
         _csv(change=lambda s: s.indicators[0].update(comment="Данные МВД; მონაცემები"),
              encoding="utf-8-sig"),
         ACCEPTED, (), "UTF-8 with a byte-order mark is what Excel's 'CSV UTF-8' writes."),
    Case("csv_utf16", _csv(encoding="utf-16"), REJECTED, ("file_encoding",),
         "The contract says UTF-8; Excel's UTF-16 'Unicode text' is also tab-separated, so "
         "decoding it would only move the failure.", ("UTF-16",)),
    Case("csv_utf16_without_bom", _csv(encoding="utf-16-le"), REJECTED, ("file_encoding",),
         "Named as UTF-16 from its NUL bytes, not misread as binary.", ("UTF-16",)),
    Case("csv_cp1251",
         _csv(change=lambda s: s.indicators[0].update(comment="Задержано 5 человек"),
              encoding="cp1251"),
         REJECTED, ("file_encoding",),
         "Not decoded by guessing: Windows-1250 Romanian and KOI8-R Russian decode as "
         "Windows-1251 too, into wrong letters. The code page is named so the fix is clear.",
         ("Windows-1251",)),
    Case("csv_semicolon_decimal_comma",
         _csv("seizures", _group_quantity, sep=";", encoding="utf-8-sig", decimal=","),
         ACCEPTED, (), "Semicolon files come from comma-decimal locales: 12,5 is 12.5, and "
         "'1 234,5' is 1234.5.", check=_decimal_commas_read),
    # --- numbers stored as text
    Case("number_with_space_groups", _filled(_standalone_value("1 234")), ACCEPTED, (),
         "A space never marks decimals: '1 234' can only be 1234.", check=_grouped_number_read),
    Case("number_with_comma_group", _filled(_standalone_value("1,234")), REJECTED,
         ("type_number_ambiguous",),
         "'1,234' is 1234 in English and 1.234 in the region's locales: asked, not guessed.",
         ("1234", "1.234")),
    Case("csv_number_with_comma_group",
         _csv(change=lambda s: s.indicators[0].update(value="1,234")), REJECTED,
         ("type_number_ambiguous",), "The same in a comma-separated file."),
    # --- formulas and DDE: text is text
    Case("formula_payloads_in_every_free_text_field", _payloads, ACCEPTED, (),
         "Free text is data: stored verbatim as text, never evaluated; reports write it as "
         "literal text.", check=_workbook_payloads_kept),
    Case("formula_payloads_in_indicators_csv", _csv_payloads("indicators"), ACCEPTED, (),
         "The same in CSV.", check=_payloads_kept_verbatim),
    Case("formula_payloads_in_seizures_csv", _csv_payloads("seizures"), ACCEPTED, (),
         "The same in CSV.", check=_payloads_kept_verbatim),
    Case("real_formula_with_saved_value", _formula(cached=True), ACCEPTED, (),
         "A formula cell is read as the value Excel saved with it (what the sender saw), never "
         "evaluated: the formula says 999999, the saved value stands; a DDE formula's saved "
         "text is just text.", check=_saved_values_read),
    Case("real_formula_without_saved_value", _formula(cached=False), REJECTED,
         ("expect_column_values_to_not_be_null",),
         "With no saved value the cell is empty, and a required value is missing."),
    # --- sheets
    Case("hidden_data_sheet", _hidden("hidden"), WARNED, ("sheet_hidden",),
         "The figures are where the contract puts them, so they are read; the sender may not "
         "have seen them, so the receipt says so.", ("hidden",)),
    Case("very_hidden_data_sheet", _hidden("veryHidden"), WARNED, ("sheet_hidden",),
         "The same for a sheet hidden from Excel's own menus."),
    Case("hidden_decoy_and_payload_sheets", _openpyxl(_decoys), ACCEPTED, (),
         "Only the contract's sheets, by exact name first, are read: a hidden look-alike "
         "'Indicators ' and a payload sheet are never read.", check=_decoys_not_read),
    Case("translated_sheet_name",
         _openpyxl(lambda wb: setattr(wb["indicators"], "title", "Показатели")),
         REJECTED, ("sheet_missing",), "Sheets are found by their template names.",
         ("'indicators'",)),
    Case("renamed_sheet", _openpyxl(lambda wb: setattr(wb["seizures"], "title", "Sheet3")),
         REJECTED, ("sheet_missing",), "Sheets are found by their template names.",
         ("'seizures'",)),
    Case("merged_header_cells", _openpyxl(lambda wb: wb["indicators"].merge_cells("D1:E1")),
         REJECTED, ("column_missing", "cells_merged"),
         "Merging hides the second name: the missing column is named, the merge explained.",
         ("'unit'", "D1:E1")),
    Case("header_moved_down", _openpyxl(_move_header), REJECTED,
         ("header_not_first_row", "column_missing"),
         "A title row above the header: the receipt says where the header is.", ("row 2",)),
    Case("columns_in_another_order", _openpyxl(_swap_columns), ACCEPTED, (),
         "Columns are found by their header names, not their places.", check=_same_figures),
    # --- whose return, for when
    Case("wrong_country", _copy_as(WORKBOOK), REJECTED, ("country_matches_bucket",),
         "A file in Armenia's bucket declaring Georgia never counts as Armenia's.",
         ("GE",), unit="AM"),
    Case("wrong_country_csv", _csv(name=f"AM_{PERIOD}_indicators.csv"), REJECTED,
         ("country_matches_bucket",), "The same for a CSV file, named for another country."),
    Case("suspended_unit", _sample_of("BY", PERIOD), REJECTED, ("reporting_unit_active",),
         "Belarus is suspended since 2021-06-28.", ("Eastern Partnership",), unit="BY"),
    Case("future_period", _sample_of("GE", "2026-Q4"), REJECTED, ("period_has_ended",),
         "A return for a period that has not ended yet."),
    Case("malformed_period", _filled(lambda s, b: s.metadata.update(period="2026-Q5")),
         REJECTED, ("expect_column_values_to_match_regex",), "There is no fifth quarter."),
    Case("malformed_period_csv", _csv(name="GE_2026-Q5_indicators.csv"), REJECTED,
         ("file_csv_name",), "A CSV file's period is in its name."),
    Case("duplicate_indicator_rows", _filled(lambda s, b: s.indicators.append(dict(s.indicators[0]))),
         REJECTED, ("expect_compound_columns_to_be_unique",),
         "Two figures for one crime area and indicator: which one counts?"),
    Case("duplicate_seizure_rows", _filled(lambda s, b: s.seizures.append(dict(s.seizures[0]))),
         REJECTED, ("expect_column_values_to_be_unique",),
         "The same seizure twice would count its drugs twice."),
    Case("text_over_the_length_limit",
         _filled(lambda s, b: s.indicators[0].update(comment="x" * 1001)), REJECTED,
         ("expect_column_value_lengths_to_be_between",), "Free text is limited to 1000 characters."),
    # --- file names
    Case("name_with_control_character", _copy_as(f"GE_{PERIOD}\x07.xlsx"), REJECTED,
         ("file_name_unsafe",), "Control characters in a name are refused before fetching.",
         ("control characters",)),
    Case("name_with_newline", _copy_as(f"GE_{PERIOD}\nrm -rf.xlsx"), REJECTED,
         ("file_name_unsafe",), "A newline in a name could forge log lines."),
    Case("name_of_250_characters", _copy_as(f"GE_{PERIOD}_" + "x" * 234 + ".xlsx"), REJECTED,
         ("file_name_too_long",), "Linux allows 255 bytes; the pipeline keeps names short.",
         ("250 characters",)),
]  # fmt: skip


# --- running a case --------------------------------------------------------------

_CHILD = """
import json, resource, sys
limit = int(sys.argv[6])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from datetime import date, datetime
from pathlib import Path
from topcop.ingest import process_return
from topcop.landing.local import LocalLanding
from topcop.warehouse.engine import warehouse_engine
root, url, unit, today, now = sys.argv[1:6]
landing = LocalLanding(Path(root))
(item,) = landing.list_inbox(unit)
result = process_return(item, landing=landing, engine=warehouse_engine(url),
                        today=date.fromisoformat(today), now=datetime.fromisoformat(now))
print(json.dumps(result.as_dict()))
"""


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("submission", "indicator_fact", "seizure_fact")
        }


def deliver(case: Case, b: Base, tmp_path: Path, seeded: Path) -> Delivered:
    made = tmp_path / "made"
    made.mkdir()
    path = case.build(b, made)
    sent = path.read_bytes()
    landing = LocalLanding(tmp_path / "landing")
    shutil.move(path, landing.area(case.unit, "inbox") / path.name)
    shutil.copy(seeded, tmp_path / "warehouse.db")
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = warehouse_engine(url)
    before = _counts(engine)
    if case.bounded:
        args = [str(landing.root), url, case.unit, TODAY.isoformat(), NOW.isoformat()]
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, *args, str(ADDRESS_SPACE)],
            capture_output=True,
            text=True,
            timeout=GUARD_SECONDS,
            env=os.environ.copy(),
        )
        assert child.returncode == 0, child.stderr[-3000:]
        status = json.loads(child.stdout.splitlines()[-1])["status"]
    else:
        (item,) = landing.list_inbox(case.unit)
        status = process_return(item, landing=landing, engine=engine, today=TODAY, now=NOW).status
    receipts = [n for n in landing.list_area(case.unit, "receipts") if n.endswith(".json")]
    assert len(receipts) == 1, receipts
    area = "quarantine" if status == REJECTED else "archive"
    return Delivered(
        status=status,
        receipt=json.loads(landing.read(case.unit, "receipts", receipts[0])),
        sent=sent,
        kept=sorted(landing.area(case.unit, area).iterdir()),
        inbox=sorted(landing.area(case.unit, "inbox").iterdir()),
        engine=engine,
        before=before,
        after=_counts(engine),
    )


def test_the_corpus_is_large_and_named_uniquely():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
    assert all(c.why and c.status in STATUSES for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file(case: Case, base: Base, seeded_warehouse: Path, tmp_path: Path) -> None:
    d = deliver(case, base, tmp_path, seeded_warehouse)
    findings = d.receipt["findings"]
    assert d.status == case.status, (case.why, findings)
    assert d.receipt["status"] == d.status

    # The file is kept whole where the status sends it, and nothing is left behind.
    assert d.inbox == []
    assert [p.read_bytes() for p in d.kept] == [d.sent]

    # The receipt names each reason: the rule, where, and what to do about it.
    rules = [f["rule"] for f in findings]
    assert set(case.rules) <= set(rules), rules
    assert all(f["message"] and f["severity"] in ("error", "warning") for f in findings)
    # Said in the unit's language; the English beside it (message_en) holds the words checked.
    messages = " ".join(f["message_en"] for f in findings)
    for words in case.says:
        assert words in messages, messages
    errors = [f for f in findings if f["severity"] == "error"]
    if case.status == REJECTED:
        assert errors and case.rules[0] in {f["rule"] for f in errors}
    else:
        assert errors == []
        assert (case.status == WARNED) == bool(findings)

    # A rejected file leaves its submission row and findings, and not one fact.
    assert d.after["submission"] == d.before["submission"] + 1
    loaded = d.receipt["counts"]["indicator_rows"] + d.receipt["counts"]["seizure_rows"]
    facts_added = sum(d.after[t] - d.before[t] for t in ("indicator_fact", "seizure_fact"))
    if case.status == REJECTED:
        assert facts_added == 0 and loaded == 0
    else:
        assert facts_added == loaded > 0

    if case.check is not None:
        args = (d, base) if case.check.__code__.co_argcount == 2 else (d,)
        case.check(*args)
    d.engine.dispose()


def test_a_key_with_a_path_is_quarantined_unread_on_s3(
    s3_landing_env, base: Base, seeded_warehouse: Path, tmp_path: Path
) -> None:
    """An S3 key can hold '../' (a local file name cannot): refused before it is fetched."""
    from topcop.landing.s3 import S3Landing

    env = s3_landing_env
    bucket = f"{env['prefix']}-GE".lower()
    env["client"].put_object(
        Bucket=bucket, Key=f"inbox/../{WORKBOOK}", Body=base.workbook.read_bytes()
    )
    landing = S3Landing()
    (item,) = landing.list_inbox("GE")
    assert item.name == f"../{WORKBOOK}"
    shutil.copy(seeded_warehouse, tmp_path / "warehouse.db")
    engine = warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    before = _counts(engine)

    result = process_return(item, landing=landing, engine=engine, today=TODAY, now=NOW)

    assert result.status == REJECTED
    (receipt_name,) = [n for n in landing.list_area("GE", "receipts") if n.endswith(".json")]
    receipt = json.loads(landing.read("GE", "receipts", receipt_name))
    assert [f["rule"] for f in receipt["findings"]] == ["file_name_unsafe"]
    assert receipt["sha256"] is None  # never fetched
    assert landing.list_inbox("GE") == []
    (kept,) = landing.list_area("GE", "quarantine")
    assert landing.read("GE", "quarantine", kept) == base.workbook.read_bytes()
    after = _counts(engine)
    assert after["submission"] == before["submission"] + 1
    assert (after["indicator_fact"], after["seizure_fact"]) == (
        before["indicator_fact"],
        before["seizure_fact"],
    )
    engine.dispose()


# --- the limits, at their boundaries ---------------------------------------------


def _without_cell_references(xml: bytes) -> bytes:
    """Cells placed by their order in the row, as some writers do (and calamine allows)."""
    return re.sub(rb'(<c) r="[A-Z]+\d+"', rb"\1", xml)


@pytest.mark.parametrize("references", [True, False], ids=["referenced", "by_position"])
def test_sheets_are_measured_as_calamine_places_their_cells(
    base: Base, tmp_path: Path, references: bool
) -> None:
    """One row, column or cell fewer allowed than a sheet uses refuses the file; none fewer reads it."""
    path = base.workbook
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        cells = max(len(re.findall(rb"<c[\s/>]", z.read(n))) for n in sheets)
    if not references:
        edits = dict.fromkeys(sheets, _without_cell_references)
        path = hostile.rezip(base.workbook, tmp_path / WORKBOOK, edit=edits)
    with CalamineWorkbook.from_path(str(path)) as wb:
        ends = [wb.get_sheet_by_name(name).end for name in wb.sheet_names]
    used = {
        "max_rows_per_sheet": max(row for row, _ in ends),  # 0-based last row: rows under row 1
        "max_columns_per_sheet": max(column for _, column in ends) + 1,
        "max_cells_per_sheet": cells,
    }
    for limit, value in used.items():
        assert inspect_file(path, dataclasses.replace(limits(), **{limit: value})) == [], limit
        refused = inspect_file(path, dataclasses.replace(limits(), **{limit: value - 1}))
        assert [f.rule for f in refused] == ["file_sheet_too_large"], limit
    assert read_return(path).readable  # and calamine reads what was measured


def test_csv_limits_hold_exactly_at_the_boundary(base: Base, tmp_path: Path, monkeypatch) -> None:
    indicators_csv, _ = write_csv(base.sample, tmp_path)
    rows = len(base.sample.indicators)
    for allowed, refused in ((rows, False), (rows - 1, True)):
        lim = dataclasses.replace(limits(), max_rows_per_sheet=allowed)
        monkeypatch.setattr(config, "limits", lambda lim=lim: lim)
        rules = [f.rule for f in read_return(indicators_csv).findings]
        assert rules == (["file_sheet_too_large"] if refused else [])
