"""Sample returns: plausible, rule-abiding content and the files a focal point would send.

The demo, the tests and the benchmarks make their returns here, always by filling
the generated template (or writing the documented CSV layout), so the template and
the reader cannot drift apart unnoticed. Content is plain dicts (column name ->
Python value) so a test can plant a fault by editing one value before writing.

Writing the seizures sheet cell by cell through openpyxl takes minutes for the
hundreds of thousands of rows a big country sends, so ``fill_template`` writes the
small sheets through openpyxl and then streams the seizure rows straight into the
template's ``<sheetData>``, each cell taking its column's style from the template.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from numbers import Real
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from topcop.config import Codelists, codelists
from topcop.periods import Period
from topcop.returns.model import (
    INDICATOR_COLUMNS,
    INDICATORS_SHEET,
    METADATA_FIELDS,
    METADATA_SHEET,
    SEIZURE_COLUMNS,
    SEIZURES_SHEET,
)
from topcop.returns.template import build_template, prefilled_indicator_rows


@dataclass
class SampleReturn:
    """What a focal point reports for one country and period, before it is written to a file."""

    country: str
    period: str
    metadata: dict[str, Any] = field(default_factory=dict)
    indicators: list[dict[str, Any]] = field(default_factory=list)
    seizures: list[dict[str, Any]] = field(default_factory=list)


# How big each country's figures run, so the demo's countries do not all look alike.
_SCALE = {"UA": 5.0, "AZ": 2.0, "BY": 2.0, "GE": 1.5, "AM": 1.0, "MD": 1.0}
_REGIONS = {
    "AM": ["Yerevan", "Shirak", "Lori", "Ararat", "Syunik", "Tavush"],
    "AZ": ["Baku", "Ganja", "Sumgait", "Lankaran", "Nakhchivan", "Shaki"],
    "BY": ["Minsk", "Brest", "Gomel", "Grodno", "Mogilev", "Vitebsk"],
    "GE": ["Tbilisi", "Adjara", "Kvemo Kartli", "Imereti", "Kakheti", "Samegrelo"],
    "MD": ["Chisinau", "Balti", "Cahul", "Ungheni", "Orhei", "Gagauzia"],
    "UA": ["Kyiv", "Odesa", "Lviv", "Kharkiv", "Zakarpattia", "Volyn", "Dnipro"],
}
# Partner and transit countries seizures are usually traced to; filtered by the ISO list.
# fmt: off
_ROUTE_COUNTRIES = (
    "TR", "IR", "AF", "PK", "IN", "CN", "CO", "EC", "BR", "PE", "NL", "BE",
    "DE", "PL", "RO", "BG", "HU", "SK", "LT", "LV", "IT", "ES", "FR", "AE",
    "RU", "KZ", "UZ", "TJ", "KG", "TM", "AM", "AZ", "GE", "MD", "UA", "BY",
)
# fmt: on
_CONCEALMENT = (
    "Hidden compartment in vehicle",
    "Luggage",
    "Shipping container",
    "Postal parcel",
    "Truck cargo",
    "Body concealment",
    "Among legal goods",
)
_COMMENTS = {
    "P": "Provisional: court statistics for the last month are not final.",
    "E": "Estimated from regional reports; national figure follows.",
    "L": "Not collected by crime area in our statistics system.",
}


def sample_content(country: str, period: str, *, seed: int, seizure_rows: int = 50) -> SampleReturn:
    """A plausible return that breaks no rule of the return contract, the same for a seed."""
    lists = codelists()
    p = Period.parse(period)
    rng = random.Random(f"{seed}|{country}|{p.code}")  # str seeds hash the same in every process
    scale = _SCALE.get(country, 1.0)
    submitted = p.end + timedelta(days=rng.randint(5, 25))
    metadata = {
        "country": country,
        "period": p.code,
        "template_version": lists.template_version,
        "submission_date": submitted,
        "focal_point_ref": "Analytical unit, Ministry of Internal Affairs",
        "handling_code": "PROGRAMME",
        "remarks": rng.choice([None, "Figures for the last month are provisional."]),
    }
    return SampleReturn(
        country=country,
        period=p.code,
        metadata=metadata,
        indicators=_indicators(lists, rng, scale, random.Random(f"levels|{country}")),
        seizures=_seizures(lists, rng, country, p, seizure_rows),
    )


def _indicators(
    lists: Codelists, rng: random.Random, scale: float, levels: random.Random
) -> list[dict[str, Any]]:
    """``levels`` draws each country's usual figures (the same every period and seed);
    ``rng`` the period's own variation around them, so a country's history is plausible."""
    rows = [
        {**keys, "value": None, "obs_status": "A", "conf_status": "F", "comment": None}
        for keys in prefilled_indicator_rows(lists)
    ]
    restricted = set(rng.sample(list(lists.crime_areas), k=min(2, len(lists.crime_areas))))
    for crime_area in lists.crime_areas:
        _fill_crime_area(
            [r for r in rows if r["crime_area"] == crime_area],
            lists,
            rng,
            scale * levels.uniform(0.3, 2),
            levels,
        )
        if crime_area in restricted:
            for r in rows:
                if r["crime_area"] == crime_area:
                    r["conf_status"] = "N"

    # A few figures are provisional or estimated, and one was not collected.
    for r in rng.sample(rows, k=min(4, len(rows))):
        r["obs_status"] = rng.choice("PE")
        r["comment"] = _COMMENTS[r["obs_status"]]
    standalone = [
        r
        for r in rows
        if not lists.indicators[r["indicator"]].breakdowns
        and lists.indicators[r["indicator"]].justice_chain_step is None
        and r["obs_status"] == "A"
    ]
    if standalone:
        r = rng.choice(standalone)
        r.update(value=None, obs_status="L", comment=_COMMENTS["L"])
    return rows


def _fill_crime_area(
    rows: list[dict[str, Any]],
    lists: Codelists,
    rng: random.Random,
    scale: float,
    levels: random.Random,
) -> None:
    """Values for one crime area: totals equal their breakdowns and the justice chain narrows.

    Each figure is the country's usual level (``levels``) give or take 15% (``rng``).
    """
    previous_step: int | None = None
    for r in sorted(rows, key=lambda r: lists.indicators[r["indicator"]].justice_chain_step or 0):
        if r["breakdown"] is not None:
            continue  # filled together with its total
        indicator = lists.indicators[r["indicator"]]
        usual = levels.uniform(0, 1)  # drawn for every figure, so levels stay in step
        vary = rng.uniform(0.85, 1.15)
        if not indicator.whole_number:
            # Whole euros when split over breakdowns, so the parts add up exactly.
            amount = usual * 800_000 * scale * vary
            r["value"] = float(int(amount)) if indicator.breakdowns else round(amount, 2)
        elif indicator.justice_chain_step is not None and previous_step is not None:
            r["value"] = min(previous_step, round(usual * previous_step * vary))
        else:
            r["value"] = round(usual * max(1, int(40 * scale)) * vary)
        if indicator.justice_chain_step is not None:
            previous_step = r["value"]
        parts = [b for b in rows if b["indicator"] == r["indicator"] and b["breakdown"]]
        remaining = r["value"]
        for i, part in enumerate(parts):
            share = (
                remaining
                if i == len(parts) - 1
                else type(remaining)(round(remaining * levels.uniform(0, 1)))
            )
            part["value"] = share
            remaining -= share


def _seizures(
    lists: Codelists, rng: random.Random, country: str, p: Period, count: int
) -> list[dict[str, Any]]:
    commodities = list(lists.commodities.values())
    transport = list(lists.transport_modes)
    ocg = list(lists.ocg_involved)
    routes = [c for c in _ROUTE_COUNTRIES if c in lists.countries]
    regions = _REGIONS.get(country) or [f"Region {i}" for i in range(1, 7)]
    days = (p.end - p.start).days + 1
    prefix = f"{country}-{p.code.replace('-', '')}"
    rows = []
    for i in range(1, count + 1):
        commodity = rng.choice(commodities)
        unit = rng.choice(commodity.units)
        rows.append(
            {
                "seizure_ref": f"{prefix}-{i:06d}",
                "seizure_date": p.start + timedelta(days=rng.randrange(days)),
                "region": rng.choice(regions),
                "commodity": commodity.code,
                "quantity": _quantity(rng, unit),
                "unit": unit,
                "origin_country": rng.choice(routes) if rng.random() < 0.7 else None,
                "departure_country": rng.choice(routes) if rng.random() < 0.5 else None,
                "destination_country": rng.choice(routes) if rng.random() < 0.5 else None,
                "transport_mode": rng.choice(transport),
                "concealment": rng.choice(_CONCEALMENT) if rng.random() < 0.6 else None,
                "ocg_involved": rng.choice(ocg),
            }
        )
    return rows


def _quantity(rng: random.Random, unit: str) -> int | float:
    if unit == "PCS":
        return rng.randint(1, 5000)
    if unit == "EUR":
        return round(rng.uniform(500, 250_000), 2)
    if unit == "L":
        return round(rng.uniform(0.5, 2000), 1)
    return round(max(0.001, rng.lognormvariate(0, 1.5)), 3)


# --- writing files ---------------------------------------------------------------


def fill_template(sample: SampleReturn, path: Path, lang: str | None = None) -> Path:
    """Write ``sample`` as the focal point would: into the generated template, saved as .xlsx.

    The template in ``lang`` (default: the unit's language); the data is the same in any.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = build_template(sample.country, sample.period, lang)
    _write_metadata(wb[METADATA_SHEET], sample.metadata)
    _write_indicators(wb[INDICATORS_SHEET], sample.indicators)
    buffer = io.BytesIO()
    wb.save(buffer)
    stamp = Period.parse(sample.period).end
    _stream_seizures(buffer.getvalue(), sample.seizures, path, stamp)
    return path


def _write_metadata(ws: Any, metadata: dict[str, Any]) -> None:
    _check_columns(metadata, METADATA_FIELDS, "metadata")
    for name_cell, value_cell in ws.iter_rows(min_row=2, max_col=2):
        if name_cell.value in metadata:
            value_cell.value = metadata[name_cell.value]


def _write_indicators(ws: Any, rows: list[dict[str, Any]]) -> None:
    columns = list(INDICATOR_COLUMNS)
    prefilled = ws.max_row - 1
    for i, row in enumerate(rows):
        _check_columns(row, columns, "indicators")
        for col, name in enumerate(columns, start=1):
            cell = ws.cell(i + 2, col)
            cell.value = row.get(name)  # ws.cell(r, c, None) would keep the template's value
            if i >= prefilled:
                cell._style = copy(ws.cell(2, col)._style)  # same protection as the template's rows
    for r in range(len(rows) + 2, prefilled + 2):  # the sample dropped prefilled rows
        for col in range(1, len(columns) + 1):
            ws.cell(r, col).value = None


def _check_columns(row: dict[str, Any], allowed: Iterable[str], what: str) -> None:
    unknown = set(row) - set(allowed)
    if unknown:
        raise ValueError(f"{what} has no column {sorted(unknown)}")


def _stream_seizures(template: bytes, rows: list[dict[str, Any]], path: Path, stamp: date) -> None:
    """Copy the saved template to ``path``, writing ``rows`` into the seizures sheet's XML."""
    fixed = (stamp.year, stamp.month, stamp.day, 0, 0, 0)  # same content, same bytes
    with (
        zipfile.ZipFile(io.BytesIO(template)) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        part = _sheet_part(src, SEIZURES_SHEET)
        for info in src.infolist():
            target = zipfile.ZipInfo(info.filename, date_time=fixed)
            target.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb">\d{4}-\d\d-\d\dT[\d:.]+Z<", f">{stamp}T00:00:00Z<".encode(), data)
            if info.filename != part:
                dst.writestr(target, data)
                continue
            head, tail, styles = _split_sheet(data.decode("utf-8"), len(rows))
            with dst.open(target, "w") as out:
                out.write(head.encode("utf-8"))
                for chunk in _row_chunks(rows, styles):
                    out.write(chunk.encode("utf-8"))
                out.write(tail.encode("utf-8"))


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding ``sheet``, found through the workbook's relationships."""
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "p": "http://schemas.openxmlformats.org/package/2006/relationships",
    }
    workbook = ET.fromstring(archive.read("xl/workbook.xml"))
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for s in workbook.iterfind("m:sheets/m:sheet", ns):
        if s.get("name") == sheet:
            rid = s.get(f"{{{ns['r']}}}id")
            target = next(
                r.get("Target") for r in rels.iterfind("p:Relationship", ns) if r.get("Id") == rid
            )
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise ValueError(f"the template has no sheet {sheet!r}")


def _split_sheet(xml: str, row_count: int) -> tuple[str, str, list[str]]:
    """Cut the sheet XML where data rows go; also return each column's style id."""
    columns = list(SEIZURE_COLUMNS)
    styles = ["0"] * len(columns)
    for col in re.findall(r"<col\b[^>]*>", xml):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', col))
        for index in range(int(attrs["min"]), int(attrs["max"]) + 1):
            if index <= len(columns):
                styles[index - 1] = attrs.get("style", "0")
    last = get_column_letter(len(columns))
    xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}{row_count + 1}"/>', xml)
    if "</sheetData>" in xml:
        head, tail = xml.split("</sheetData>", 1)
        return head, "</sheetData>" + tail, styles
    head, tail = xml.split("<sheetData/>", 1)
    return head + "<sheetData>", "</sheetData>" + tail, styles


_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 in the 1900 date system


def _row_chunks(rows: list[dict[str, Any]], styles: list[str]) -> Iterator[str]:
    columns = list(SEIZURE_COLUMNS)
    letters = [get_column_letter(i) for i in range(1, len(columns) + 1)]
    date_style = next(
        styles[i]
        for i, dtype in enumerate(SEIZURE_COLUMNS.values())
        if dtype.startswith("datetime")
    )
    cells = list(zip(columns, letters, styles, strict=True))
    known = set(columns)
    buffer: list[str] = []
    for number, row in enumerate(rows, start=2):
        if not row.keys() <= known:
            _check_columns(row, columns, "seizures")
        buffer.append(f'<row r="{number}">')
        for name, letter, style in cells:
            value = row.get(name)
            if value is not None and value != "":
                buffer.append(_cell_xml(f"{letter}{number}", value, style, date_style))
        buffer.append("</row>")
        if len(buffer) > 20_000:
            yield "".join(buffer)
            buffer.clear()
    yield "".join(buffer)


def _cell_xml(ref: str, value: Any, style: str, date_style: str) -> str:
    if isinstance(value, str):
        if ILLEGAL_CHARACTERS_RE.search(value):
            raise ValueError(f"{ref}: {value!r} holds characters a workbook cannot store")
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" s="{style}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        serial = (value.replace(tzinfo=None) - _EPOCH) / timedelta(days=1)
        return f'<c r="{ref}" s="{date_style}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{date_style}"><v>{(value - _EPOCH.date()).days}</v></c>'
    if isinstance(value, Real):
        if isinstance(value, float) and not math.isfinite(value):
            if math.isnan(value):
                return ""
            raise ValueError(f"{ref}: a workbook cannot store {value}")
        return f'<c r="{ref}" s="{style}"><v>{value!r}</v></c>'
    raise TypeError(f"{ref}: cannot write a {type(value).__name__} into a workbook")


def write_csv(
    sample: SampleReturn,
    directory: Path,
    *,
    sep: str = ",",
    encoding: str = "utf-8",
    decimal: str = ".",
) -> list[Path]:
    """Write the CSV alternative: ``<CC>_<PERIOD>_indicators.csv`` and ``..._seizures.csv``.

    ``encoding="utf-8-sig"`` writes a BOM, as Excel does; ``decimal=","`` writes numbers
    the way a semicolon-separated export from a comma-decimal locale does.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for dataset, columns, rows in (
        (INDICATORS_SHEET, INDICATOR_COLUMNS, sample.indicators),
        (SEIZURES_SHEET, SEIZURE_COLUMNS, sample.seizures),
    ):
        path = directory / f"{sample.country}_{sample.period}_{dataset}.csv"
        with open(path, "w", encoding=encoding, newline="") as f:
            writer = csv.writer(f, delimiter=sep)
            writer.writerow(columns)
            for row in rows:
                _check_columns(row, columns, dataset)
                writer.writerow([_csv_text(row.get(c), decimal) for c in columns])
        paths.append(path)
    return paths


def _csv_text(value: Any, decimal: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value).replace(".", decimal)
    return str(value)
