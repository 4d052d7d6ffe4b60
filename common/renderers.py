from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer


def _default(obj: Any) -> Any:
    # Decimal is rendered as a string by the serializers already; lazy translation strings
    # and other str-like objects end up here.
    return str(obj)


class ORJSONRenderer(JSONRenderer):
    """JSON rendered with orjson: same output shape as DRF's renderer, several times faster."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
