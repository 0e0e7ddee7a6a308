"""Tables as JSON, CSV or XLSX: the one way every export of the API is written.

Stored text is whatever people and systems sent (a username with a vertical tab, a reason with
a formula): an export must open, and must not run it. So every cell goes through
:func:`csv_cell` or :func:`xlsx_cell`, the CSV starts with a UTF-8 byte order mark (without it
Excel reads Arabic as Windows-1252), and the header row is written even when no row is.

A CSV or XLSX is read by a person: next to a column of codes (``by_branch``: ``riyadh=3``) it
has the same figures under their display names (``by_branch_names``: ``الرياض=3``), in the
language of ``lang`` (``ar`` or ``en``; without it, the browser's ``Accept-Language``, else
Arabic). The codes keep their own column for the integrations that read them; JSON has codes only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue

from agent_api import parsing
from tawasul.display_names import DisplayNames
from tawasul.errors import ValidationError
from tawasul.models import Language

FORMATS = ("json", "csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""What a spreadsheet takes for the start of a formula (OWASP's list, and the fullwidth forms
some spreadsheets fold to ASCII)."""


def _flat(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return value


def _defused(text: str) -> str:
    # A leading apostrophe makes a spreadsheet show the text as text, never evaluate it.
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: nested values flattened, text that would be a formula defused."""
    flat = _flat(value)
    return _defused(flat) if isinstance(flat, str) else flat


def xlsx_cell(value: Any) -> Any:
    """A value as an XLSX cell: what the format cannot hold (control characters) removed, and
    text that would be a formula defused."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    flat = _flat(value)
    if isinstance(flat, str):
        return _defused(ILLEGAL_CHARACTERS_RE.sub("", flat))
    return flat


def columns_of(rows: Iterable[dict[str, Any]], first: Sequence[str] = ()) -> list[str]:
    """The columns of a table: ``first`` (known even when there is no row), then every other
    key in the order the rows bring them."""
    columns = list(first)
    for row in rows:
        columns += [key for key in row if key not in columns]
    return columns


LANG_PARAM = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": [language.value for language in Language]},
    "description": (
        "The language a person reads: of the daily report, and of the display names in a CSV "
        "or XLSX (the codes keep their own columns); without it, the browser's "
        "Accept-Language, else Arabic"
    ),
}
"""The ``lang`` parameter of every export, for the OpenAPI document."""


def language(args: Mapping[str, Any]) -> Language:
    """The language a person reads an export in: ``lang``, else the browser's, else Arabic.

    Raises:
        ValidationError: naming ``lang`` when it is not a language of the centre.
    """
    chosen = parsing.choice(args, "lang", Language)
    if chosen is not None:
        return chosen
    best = request.accept_languages.best_match([language.value for language in Language])
    return Language(best) if best else Language.AR


def with_names(
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    kinds: Mapping[str, str],
    names: DisplayNames,
    lang: Language,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for a person: after each column of ``kinds`` (a mapping of codes to figures), a
    ``<column>_names`` column with the same figures under their display names.

    Args:
        rows: the table, its code columns as dicts keyed by code.
        columns: the table's known columns.
        kinds: the column of each kind of code (``{"by_branch": "branch"}``).
        names: the configured display names.
        lang: the reader's language.

    Returns:
        The rows and the columns, each named column right after its code column.
    """
    named = [
        {
            **row,
            **{
                f"{column}_names": {
                    names.name(kind, str(code), lang): value
                    for code, value in (row.get(column) or {}).items()
                }
                for column, kind in kinds.items()
            },
        }
        for row in rows
    ]
    header: list[str] = []
    for column in columns:
        header += [column, f"{column}_names"] if column in kinds else [column]
    return named, header


LAYOUTS = ("wide", "long")
LAYOUT_PARAM = {
    "name": "layout",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": list(LAYOUTS)},
    "description": (
        "CSV and XLSX only. long: one fact per row (the row's keys, then figure, code, name, "
        "value; a split such as by_channel is one row per channel); wide (the default, for "
        "the integrations that read it): one row per period, splits packed in a cell"
    ),
}
"""The ``layout`` parameter of the figure exports, for the OpenAPI document."""
LONG_COLUMNS = ("figure", "code", "name", "value")


def long_rows(
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    figures: Sequence[str],
    kinds: Mapping[str, str],
    names: DisplayNames,
    lang: Language,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for a person in long format: one fact a row, never a split packed in a cell.

    Args:
        rows: the table, a split as a dict keyed by code (``{"fax": 1, "manual": 2}``).
        keys: the columns that say which row a fact belongs to (``day``, ``start``).
        figures: the other columns, in order.
        kinds: the kind of code of each split column that has display names.
        names: the configured display names.
        lang: the reader's language.

    Returns:
        The rows ``{*keys, figure, code, name, value}`` and their columns. A plain figure has
        no code; a split has a row per code, its display name beside it.
    """
    out: list[dict[str, Any]] = []
    for row in rows:
        where = {key: row.get(key) for key in keys}
        for figure in figures:
            value = row.get(figure)
            if isinstance(value, dict):
                kind = kinds.get(figure)
                for code, count in sorted(value.items()):
                    name = names.name(kind, str(code), lang) if kind else str(code)
                    out.append(
                        {**where, "figure": figure, "code": code, "name": name, "value": count}
                    )
            else:
                out.append({**where, "figure": figure, "code": None, "name": None, "value": value})
    return out, [*keys, *LONG_COLUMNS]


def layout(args: Mapping[str, Any]) -> str:
    """The ``layout`` asked for, ``wide`` by default.

    Raises:
        ValidationError: naming ``layout`` for another value.
    """
    chosen = args.get("layout", "wide")
    if chosen not in LAYOUTS:
        raise ValidationError("layout", f"one of {', '.join(LAYOUTS)}")
    return str(chosen)


def table(
    rows: list[dict[str, Any]], fmt: str, name: str, columns: Sequence[str] = ()
) -> ResponseReturnValue:
    """Answer rows as JSON (``{"items": ...}``), a CSV or an XLSX download.

    Args:
        rows: the table, one dict a row.
        fmt: "json", "csv" or "xlsx" (the view has checked it).
        name: the file name, without its extension (and the sheet's name).
        columns: the columns known in advance, so an empty table still has its header.
    """
    if fmt == "json":
        return jsonify({"items": rows, "definitions": "docs/metrics.md"})
    header = columns_of(rows, columns)
    if fmt == "csv":
        out = io.StringIO()
        out.write(BOM)
        writer = csv.writer(out)
        writer.writerow([csv_cell(key) for key in header])
        writer.writerows([csv_cell(row.get(key)) for key in header] for row in rows)
        return Response(
            out.getvalue().encode("utf-8"),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = name[:31]
    sheet.append([xlsx_cell(key) for key in header])
    for row in rows:
        sheet.append([xlsx_cell(row.get(key)) for key in header])
    data = io.BytesIO()
    book.save(data)
    return Response(
        data.getvalue(),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
