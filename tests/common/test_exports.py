import csv
import io
from decimal import Decimal

import openpyxl

from common.exports import TablesCSVRenderer, TablesXLSXRenderer, safe_cell

TABLE = {
    "key": "trade",
    "title": "Trade",
    "columns": [{"key": "who", "label": "企业"}, {"key": "t", "label": "tonnes"}],
    "rows": [
        {"who": '=HYPERLINK("http://x")', "t": Decimal("1.500")},
        {"who": "宁波", "t": Decimal("-2")},
        {"who": None, "t": None},
    ],
}


def test_formulas_are_quoted_and_numbers_kept() -> None:
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell(Decimal("-2")) == Decimal("-2")
    assert safe_cell(None) == ""
    assert safe_cell(True) == "true"


def test_one_table_as_csv() -> None:
    content = TablesCSVRenderer().render({"sections": [TABLE]})
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows == [["who", "t"], ['\'=HYPERLINK("http://x")', "1.500"], ["宁波", "-2"], ["", ""]]


def test_several_tables_as_csv_each_after_its_title() -> None:
    other = {**TABLE, "key": "other", "title": "Other", "rows": []}
    content = TablesCSVRenderer().render({"sections": [TABLE, other]}).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == ["# Trade"]
    assert rows[5:] == [[], ["# Other"], ["who", "t"]]


def test_xlsx_has_a_sheet_per_table_with_labels() -> None:
    other = {**TABLE, "key": "other", "title": "Other"}
    content = TablesXLSXRenderer().render({"sections": [TABLE, other]})
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["trade", "other"]
    rows = list(book["trade"].iter_rows(values_only=True))
    assert rows[0] == ("企业", "tonnes")
    assert rows[1][0] == '\'=HYPERLINK("http://x")'  # text, not a formula
    assert float(rows[1][1]) == 1.5


def test_anything_else_renders_empty() -> None:
    assert TablesCSVRenderer().render({"error": {}}) == "\ufeff".encode()
