"""REST API v1 views of this app (registered through ROUTES in config/api_urls.py)."""

from typing import Any

ROUTES: list[tuple[str, Any, str]] = []
