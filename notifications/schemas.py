"""JSON Schemas of the events' data, made from their payload types (the TypedDicts of
each app's topics.py): what the API's list of event types and the docs show a receiver."""

import types
import typing
from typing import Any, Literal, get_args, get_origin, get_type_hints

_SCALARS: dict[Any, dict[str, Any]] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
}


def _schema_of(hint: Any) -> dict[str, Any]:
    if hint in _SCALARS:
        return dict(_SCALARS[hint])
    origin = get_origin(hint)
    if origin is list:
        (item,) = get_args(hint) or (Any,)
        return {"type": "array", "items": _schema_of(item)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_of(arg) for arg in get_args(hint)]}
    if origin is Literal:
        return {"enum": list(get_args(hint))}
    return {}


def data_schema(payload: type) -> dict[str, Any]:
    """The JSON Schema of a TypedDict payload."""
    hints = get_type_hints(payload)
    required = sorted(payload.__required_keys__)  # type: ignore[attr-defined]
    return {
        "type": "object",
        "properties": {key: _schema_of(hint) for key, hint in hints.items()},
        "required": required,
        "additionalProperties": False,
    }
