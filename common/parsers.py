"""The JSON parser of the API, with a bound on nesting.

Python's json module recurses once per level: a body of a thousand ``[`` raises
RecursionError (a 500) before any serializer sees it. No field of the API nests deeper than
a few levels, so a body nesting deeper than ``MAX_JSON_DEPTH`` is refused as a parse error
(400, on ``body``) before it is parsed.
"""

from io import BytesIO
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


def json_depth(text: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    """``JSONParser`` that refuses a body nesting deeper than ``MAX_JSON_DEPTH``."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = stream.read() if stream is not None else b""
        if json_depth(body) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        return super().parse(BytesIO(body), media_type, parser_context)
