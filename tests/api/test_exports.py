"""Every CSV and XLSX export opens whatever text is stored: control characters, formulas,
Arabic; and has its header row when the period holds nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from agent_api.exports import BOM, csv_cell, xlsx_cell
from tawasul.security_log import LOGGER, SecurityEventWriter
from tests.api.conftest import Auth

EXPORTS = [
    "/security/events",
    "/metrics/requests",
    "/metrics/calls",
]


def stored() -> None:
    for handler in LOGGER.handlers:
        if isinstance(handler, SecurityEventWriter):
            assert handler.wait_stored()


def test_a_username_with_a_control_character_does_not_break_the_xlsx(
    client: FlaskClient, auth: Auth
) -> None:
    for username in ("ali\u000bahmed", '=HYPERLINK("http://x")', "علي\x1fأحمد"):
        answer = client.post("/auth/login", json={"username": username, "password": "x"})
        assert answer.status_code == 401
    stored()
    answer = client.get("/security/events?format=xlsx", headers=auth["admin"])
    assert answer.status_code == 200, answer.data[:200]
    sheet = load_workbook(io.BytesIO(answer.data)).active
    header = [cell.value for cell in sheet[1]]
    actors = [
        dict(zip(header, [c.value for c in row], strict=True))["actor"]
        for row in sheet.iter_rows(min_row=2)
    ]
    assert "username:aliahmed" in actors
    assert "username:علي" + "أحمد" in actors
    assert '\'username:=HYPERLINK("http://x")' not in actors  # not at the start: left as is
    answer = client.get("/security/events?format=csv", headers=auth["admin"])
    assert answer.status_code == 200
    assert answer.data.startswith(BOM.encode("utf-8"))
    rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert "username:ali\u000bahmed" in [row["actor"] for row in rows]


@pytest.mark.parametrize("path", EXPORTS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_empty_period_still_has_its_header_row(
    client: FlaskClient, auth: Auth, path: str, fmt: str
) -> None:
    answer = client.get(
        path, query_string={"from": "2030-01-01", "format": fmt}, headers=auth["admin"]
    )
    assert answer.status_code == 200
    if fmt == "csv":
        assert answer.data.startswith(BOM.encode("utf-8"))
        lines = answer.data.decode("utf-8-sig").splitlines()
        header = next(csv.reader(lines))
        data = lines[1:]
    else:
        sheet = load_workbook(io.BytesIO(answer.data)).active
        header = [cell.value for cell in sheet[1]]
        data = list(sheet.iter_rows(min_row=2))
    assert len(header) >= 3 and all(header)
    if path == "/security/events":
        assert header[:3] == ["at", "kind", "actor"] and data == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+966501234567", "'+966501234567"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("＝1", "'＝1"),
        ("مرحبا", "مرحبا"),
        (-2, -2),
        ({"b": 1, "a": "=x"}, "a==x; b=1"),
    ],
)
def test_cells_that_would_be_formulas_are_defused(value, expected):
    assert csv_cell(value) == expected


def test_xlsx_cells_lose_what_a_spreadsheet_cannot_hold():
    assert xlsx_cell("a\x00b\x0bc\x1fd") == "abcd"
    assert xlsx_cell("=\x0bcmd") == "'=cmd"
    assert xlsx_cell("سطر\nآخر\tو") == "سطر\nآخر\tو"
