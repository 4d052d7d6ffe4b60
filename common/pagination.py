"""Page-number pagination with a bounded count.

An exact COUNT over a large, tenant-filtered list (100k listings, with visibility rules that
join enterprises and parks) costs more than the page itself. The count here stops at
``count_limit`` matches: below it ``count`` is exact; above it ``count`` is the limit and
``count_capped`` is true (a client shows "1,000+"). ``?count=exact`` asks for the exact
figure. Pages beyond the count limit stay reachable through ``next`` links, which are
decided by fetching one row more than the page holds.
"""

from collections import OrderedDict
from typing import Any

from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_OFFSET = 2**53  # no list comes near; an offset beyond 2**63 fails in the database


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    count_limit = 1000
    count_query_param = "count"

    def get_page_size(self, request: Request) -> int:
        """``page_size`` when asked, else the default; outside 1..max_page_size a 400 on
        the parameter (a silently shortened page would look like the end of the list)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"A whole number from 1 to {self.max_page_size} is required."
                    ]
                }
            )
        return size

    def paginate_queryset(
        self,
        queryset: QuerySet[Any],
        request: Request,
        view: Any = None,
        count_queryset: QuerySet[Any] | None = None,
    ) -> list[Any]:
        """The page's rows. ``count_queryset`` (the same rows as model instances) is counted
        instead of ``queryset`` when given: counting a ``.values()`` queryset would keep the
        joins its columns need."""
        self.request = request
        size = self.get_page_size(request)
        wanted = request.query_params.get(self.count_query_param)
        if wanted not in (None, "", "exact"):
            raise ValidationError({self.count_query_param: ["Only 'exact' is accepted."]})
        raw = request.query_params.get(self.page_query_param, "1")
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise NotFound(f"Invalid page {raw!r}: pages are numbered from 1.")
        if (number - 1) * size > MAX_OFFSET:
            # Beyond any table (and beyond PostgreSQL's bigint offset): no such page.
            raise NotFound(f"Invalid page {number}: that page contains no results.")
        offset = (number - 1) * size
        rows = list(queryset[offset : offset + size + 1])
        if number > 1 and not rows:
            raise NotFound(f"Invalid page {number}: that page contains no results.")
        self.number, self.size = number, size
        self.has_next = len(rows) > size
        counted = queryset if count_queryset is None else count_queryset
        if wanted == "exact":
            self.count, self.count_capped = counted.count(), False
        else:
            found = counted.order_by()[: self.count_limit + 1].count()
            self.count = min(found, self.count_limit)
            self.count_capped = found > self.count_limit
        return rows[:size]

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        assert self.request is not None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number <= 1:
            return None
        assert self.request is not None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            OrderedDict(
                [
                    ("count", self.count),
                    ("count_capped", self.count_capped),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        base = super().get_paginated_response_schema(schema)
        base["properties"]["count_capped"] = {
            "type": "boolean",
            "description": f"True when more than {self.count_limit} rows match; "
            "ask ?count=exact for the exact count.",
        }
        base["required"] = ["count", "count_capped", "results"]
        return base

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        params.append(
            {
                "name": self.count_query_param,
                "required": False,
                "in": "query",
                "description": f"'exact' for an exact count beyond {self.count_limit} rows.",
                "schema": {"type": "string", "enum": ["exact"]},
            }
        )
        return params

    def get_html_context(self) -> Any:
        return {
            "previous_url": self.get_previous_link(),
            "next_url": self.get_next_link(),
            "page_links": [],
        }
