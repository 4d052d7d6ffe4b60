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


def _openapi_30(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of :func:`data_schema` in OpenAPI 3.0's dialect: ``T | None`` as a
    nullable ``T`` (3.0 has no ``null`` type)."""
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {k: _openapi_30(v) for k, v in out["properties"].items()}
    if "items" in out:
        out["items"] = _openapi_30(out["items"])
    options = out.get("anyOf")
    if options is not None:
        kept = [_openapi_30(o) for o in options if o != {"type": "null"}]
        del out["anyOf"]
        if len(kept) == 1:
            out.update(kept[0])
        else:
            out["anyOf"] = kept
        if len(kept) < len(options):
            out["nullable"] = True
    return out


def component_name(topic: str) -> str:
    """``order.confirmed`` -> ``EventOrderConfirmed``."""
    return "Event" + "".join(part.title() for part in topic.replace("_", ".").split("."))


def add_event_components(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular's post-processing hook: every public event type of the catalogue as
    a component of the OpenAPI schema (``EventOrderConfirmed``, ...): the envelope a webhook
    receives and its ``data``, as docs/notifications.md describes them."""
    from notifications.catalogue import event_types

    components = result.setdefault("components", {}).setdefault("schemas", {})
    for kind in event_types():
        declared = kind.declared
        components[component_name(kind.topic)] = {
            "type": "object",
            "description": f"{declared.description} (webhook body of `{kind.topic}`)",
            "properties": {
                "type": {"type": "string", "enum": [kind.topic]},
                "version": {"type": "integer", "enum": [declared.version]},
                "id": {"type": "string", "example": "evt_1234"},
                "occurred_at": {"type": "string", "format": "date-time"},
                "data": _openapi_30(data_schema(declared.payload)),
            },
            "required": ["type", "version", "id", "occurred_at", "data"],
        }
    return result
