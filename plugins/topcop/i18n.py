"""Languages: what a focal point reads, in its own language, from gettext catalogs.

English is the source: every message is written once, in English, as a template
with named placeholders (``{row}``, ``{value}``...), and that template is the
gettext message id. A finding keeps the template and its parameters, so the same
finding can be said in English to a steward and in the unit's language to its focal
point; codes, sheet names and column names never change. Catalogs live in
``topcop/locale/<lang>/LC_MESSAGES/topcop.po`` (Babel extracts, updates and
compiles them: see the Makefile's ``i18n-*`` targets); numbers and dates are shown
the way the language writes them (CLDR, through Babel).
"""

from __future__ import annotations

import gettext as _gettext
import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from string import Formatter
from typing import Any

SOURCE = "en"
# The programme's working languages: English, the region's common Russian, and each
# partner country's own language (Azerbaijani in Latin script).
LANGUAGES = ("en", "ru", "uk", "ro", "ka", "hy", "az")
DOMAIN = "topcop"
LOCALE_DIR = Path(__file__).with_name("locale")


def language(requested: str | None, reporting_unit: str | None = None) -> str:
    """The language to speak: the one asked for when we have it, else the unit's default."""
    if requested and requested.strip().lower() in LANGUAGES:
        return requested.strip().lower()
    if reporting_unit:
        from topcop.config import codelists

        unit = codelists().reporting_units.get(reporting_unit)
        if unit is not None and unit.language in LANGUAGES:
            return unit.language
    return SOURCE


def language_name(lang: str) -> str:
    """The language's name in itself (CLDR), e.g. ``ქართული`` for ka."""
    from babel import Locale

    return Locale.parse(lang).get_display_name(lang)


@cache
def catalog(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog; compiled from the .po in memory when no .mo was built."""
    if lang == SOURCE:
        return _gettext.NullTranslations()
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return _gettext.GNUTranslations(f)
    if not po.exists():
        raise LookupError(f"no catalog for language {lang!r} in {LOCALE_DIR}")
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        parsed = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, parsed)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def translate(template: str, lang: str) -> str:
    """The template in ``lang`` (the English template when the catalog lacks it)."""
    return catalog(lang).gettext(template) if template else template


def say(template: str, params: Mapping[str, Any] | None, lang: str = SOURCE) -> str:
    """The message in ``lang`` with its parameters shown the way ``lang`` writes them."""
    if lang == SOURCE:  # the English text exactly as the rule wrote it
        return template.format_map(dict(params or {}))
    text = translate(template, lang)
    shown = {key: shown_value(value, lang) for key, value in (params or {}).items()}
    try:
        return text.format_map(shown)
    except (KeyError, IndexError, ValueError):  # a broken translation: fall back to English
        return template.format_map(shown)


def shown_value(value: Any, lang: str) -> str:
    """A parameter as text: numbers and dates in the language's conventions, else as given."""
    from babel.dates import format_date, format_datetime
    from babel.numbers import format_decimal

    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, Text):  # a phrase made with msg(): said in the same language
        return value.in_language(lang)
    if isinstance(value, Number):
        pattern = "#,##0" + ("." + "#" * value.digits if value.digits else "")
        return format_decimal(float(value), format=pattern, locale=lang)
    if isinstance(value, int | float):
        if value != value:  # NaN
            return ""
        return format_decimal(value, locale=lang, decimal_quantization=False)
    if isinstance(value, datetime):
        return format_datetime(value, "medium", locale=lang)
    if isinstance(value, date):
        return format_date(value, "long", locale=lang)
    return str(value)


def placeholders(template: str) -> set[str]:
    """The named fields of a template, e.g. ``{"row", "value"}``."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}


class Number(float):
    """A figure as a message quotes it: ``1,234`` or ``40.50`` in English, CLDR's way elsewhere.

    A whole number shows no decimals; any other shows ``digits`` of them (in the
    other languages up to ``digits``, as CLDR writes them: ``40,5`` in Russian).
    """

    digits: int

    def __new__(cls, value: float, digits: int = 2) -> Number:
        self = super().__new__(cls, value)
        self.digits = digits
        return self

    def __format__(self, spec: str) -> str:
        if spec:
            return super().__format__(spec)
        return f"{int(self):,}" if self.is_integer() else f"{self:,.{self.digits}f}"

    def __str__(self) -> str:
        return format(self, "")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Number, (float(self), self.digits))


class Text(str):
    """An English message that remembers its template and parameters.

    It *is* the English text (so every place that reads a finding's message as a
    string keeps working) and can be said again in another language.
    """

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        self = super().__new__(cls, say(template, params))
        self.template = template
        self.params = params
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # survives pickling (Airflow XCom, processes)
        return (_rebuild, (self.template, self.params))

    def in_language(self, lang: str) -> str:
        return say(self.template, self.params, lang)


def _rebuild(template: str, params: dict[str, Any]) -> Text:
    return Text(template, **params)


def msg(template: str, **params: Any) -> Text:
    """Mark an English message template for translation, with its parameters filled in.

    The keyword extracted into the catalogs (``pybabel extract -k msg``).
    """
    return Text(template, **params)


def joined(separator: str, parts: list[Any]) -> Text:
    """Phrases and figures joined by a separator no language translates (`` + ``, ``; ``).

    Its template is made of placeholders only, so it needs no catalog entry (gettext
    gives back an unknown id as it is) and each part is said in the language.
    """
    names = [f"part{i}" for i in range(len(parts))]
    template = separator.join("{" + name + "}" for name in names)
    return Text(template, **dict(zip(names, parts, strict=True)))


class Lowered(Text):
    """A label quoted mid-sentence in lower case (``persons arrested``), in every language."""

    def __new__(cls, template: str, **params: Any) -> Lowered:
        self = str.__new__(cls, say(template, params).lower())
        self.template = template
        self.params = params
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_lowered, (self.template, self.params))

    def in_language(self, lang: str) -> str:
        text = super().in_language(lang)
        if lang == "az":  # Azerbaijani dotted and dotless capital I
            text = text.replace("I", "ı").replace("İ", "i")
        return text.lower()


def _rebuild_lowered(template: str, params: dict[str, Any]) -> Lowered:
    return Lowered(template, **params)


def msgn(singular: str, plural: str, n: int, lang: str = SOURCE) -> str:
    """A count in words with the language's plural forms (CLDR), e.g. ``{n} errors``.

    Extracted as a plural message (``pybabel extract -k msgn:1,2``).
    """
    if lang == SOURCE:
        return (singular if n == 1 else plural).format(n=n)
    return catalog(lang).ngettext(singular, plural, n).format(n=shown_value(n, lang))


def in_language(message: str, lang: str) -> str:
    """Any message in ``lang``: a ``Text`` is translated, a plain string looked up as is."""
    if isinstance(message, Text):
        return message.in_language(lang)
    return translate(message, lang)


# --- extraction: the messages that live in data files --------------------------------


def extract_suites(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator:
    """Babel extractor for GX suites: every expectation's ``meta.message``."""
    suite = json.load(fileobj)
    for expectation in suite.get("expectations", []):
        message = (expectation.get("meta") or {}).get("message")
        if message:
            yield 0, "", message, [f"{suite.get('name')}: {expectation.get('type')}"]


def extract_codelist(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator:
    """Babel extractor for codelist CSVs: the labels (``name``, ``note``), never the codes."""
    import csv
    import io

    rows = csv.DictReader(io.TextIOWrapper(fileobj, encoding="utf-8-sig"))
    for number, row in enumerate(rows, start=2):
        for column in ("name", "note"):
            label = (row.get(column) or "").strip()
            if label:
                yield number, "", label, [f"code {row.get('code')}, {column}"]
