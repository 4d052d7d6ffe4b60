"""Exports of reports as CSV and XLSX, for any view whose JSON is a document of tables.

A *document of tables* is a dict whose ``sections`` is a list of tables, each
``{"key", "title", "columns": [{"key", "label"}], "rows": [{column key: value}]}``
(``reports.sections.Table.as_dict``). :class:`TablesCSVRenderer` writes one table as a
header of column keys and its rows, several one after another, each after a line naming it
and separated by an empty line; :class:`TablesXLSXRenderer` writes one sheet per table with
the columns' labels as header. Text a spreadsheet would take for a formula is quoted
(:func:`safe_cell`, OWASP's advice against CSV injection).

:class:`ExportErrorsAsJSON` answers the errors of an export (a bad parameter, a 403) in
the one JSON error shape rather than as a spreadsheet of the error body.
"""

import csv
import io
from typing import Any

import tablib
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from common.renderers import ORJSONRenderer

# Starts that make a spreadsheet read a cell as a formula (``audit.renderers`` and the pools'
# statement quote them the same way).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """A value as a cell: empty for None, a text that would be a formula quoted with an
    apostrophe; numbers (a negative one too) stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _tables(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("sections"), list):
        return data["sections"]
    return []


def _rows(table: dict[str, Any]) -> list[list[Any]]:
    keys = [column["key"] for column in table["columns"]]
    return [[safe_cell(row.get(key)) for key in keys] for row in table["rows"]]


class TablesCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        tables = _tables(data)
        for index, table in enumerate(tables):
            if len(tables) > 1:
                if index:
                    writer.writerow([])
                writer.writerow([safe_cell(f"# {table['title']}")])
            writer.writerow([column["key"] for column in table["columns"]])
            writer.writerows(_rows(table))
        # A byte order mark, so that spreadsheet programs read Chinese text as UTF-8.
        return ("\ufeff" + out.getvalue()).encode("utf-8")


class TablesXLSXRenderer(BaseRenderer):
    media_type = XLSX_MEDIA_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        book = tablib.Databook()
        for table in _tables(data):
            sheet = tablib.Dataset(
                headers=[str(column["label"]) for column in table["columns"]],
                title=str(table["key"])[:31],  # a sheet's name: 31 characters at most
            )
            for row in _rows(table):
                sheet.append(row)
            book.add_sheet(sheet)
        content: bytes = book.export("xlsx")
        return content


TABLE_RENDERERS = (TablesCSVRenderer, TablesXLSXRenderer)
EXPORT_FORMATS = frozenset(r.format for r in TABLE_RENDERERS)


class ExportErrorsAsJSON:
    """A view mixin: an error answered while an export was asked for is rendered as JSON."""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and getattr(renderer, "format", None) in EXPORT_FORMATS:
            request.accepted_renderer = ORJSONRenderer()
            request.accepted_media_type = ORJSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
