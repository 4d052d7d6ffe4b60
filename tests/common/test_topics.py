"""The catalogue of outbox topics: declared once, each with a typed payload; event_emit
refuses an undeclared topic and a payload that does not match its type.

Every event_emit the suite reaches goes through that check, so a test of any service
fails if it emits an undeclared topic or a wrong payload; the source scan below also
covers the emits no test reaches."""

import ast
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pytest

from common.events import (
    Topic,
    declare,
    event_emit,
    event_emit_many,
    subscribers,
    topic_declare,
    topic_named,
    topics,
)
from common.models import OutboxEvent
from orders.models import OrderStatus

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_APPS = ("inventory", "marketplace", "matching", "orders")


class Shaped(TypedDict):
    order_id: int
    material_ids: list[int]
    note: NotRequired[str | None]
    share: NotRequired[float]


SHAPED = declare("test.shaped", Shaped, "A payload with every kind of field.")


@pytest.mark.django_db
def test_the_topic_or_its_name_is_accepted() -> None:
    event_emit(topic=SHAPED, payload={"order_id": 1, "material_ids": [2, 3]})
    event_emit(
        topic="test.shaped",
        payload={"order_id": 1, "material_ids": [], "note": None, "share": 0.5},
    )
    assert list(OutboxEvent.objects.values_list("topic", "version")) == [("test.shaped", 1)] * 2


@pytest.mark.django_db
def test_an_undeclared_topic_is_refused() -> None:
    with pytest.raises(ValueError, match=r"undeclared topic 'order\.shipped'"):
        event_emit(topic="order.shipped", payload={"order_id": 1, "material_ids": []})
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"material_ids": [1]}, "missing \\['order_id'\\]"),
        ({"order_id": 1, "material_ids": [1], "extra": 1}, "unknown key 'extra'"),
        ({"order_id": "1", "material_ids": [1]}, "'order_id' is not"),
        ({"order_id": True, "material_ids": [1]}, "'order_id' is not"),
        ({"order_id": 1.0, "material_ids": [1]}, "'order_id' is not"),
        ({"order_id": 1, "material_ids": ["1"]}, "'material_ids' is not list\\[int\\]"),
        ({"order_id": 1, "material_ids": (1,)}, "'material_ids' is not"),
        ({"order_id": 1, "material_ids": [1], "note": 3}, "'note' is not"),
        ({"order_id": 1, "material_ids": [1], "share": "0.5"}, "'share' is not"),
        ([("order_id", 1)], "not a dict"),
    ],
)
def test_a_payload_not_matching_its_topic_is_refused(payload: Any, reason: str) -> None:
    with pytest.raises(TypeError, match=reason):
        event_emit(topic=SHAPED, payload=payload)
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_a_service_emitting_a_wrong_payload_is_refused() -> None:
    with pytest.raises(TypeError, match=r"payload of order\.confirmed"):
        event_emit(topic="order.confirmed", payload={"order_id": 1})


@pytest.mark.django_db
def test_many_events_are_written_at_once_each_with_its_id() -> None:
    payloads = [{"order_id": n, "material_ids": [n]} for n in range(1, 4)]
    events = event_emit_many(topic=SHAPED, payloads=payloads)
    assert [e.pk for e in events] == list(
        OutboxEvent.objects.order_by("id").values_list("id", flat=True)
    )
    assert all(e.pk is not None for e in events)
    assert [e.payload for e in OutboxEvent.objects.order_by("id")] == payloads
    assert event_emit_many(topic="test.shaped", payloads=[]) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"order_id": 1, "material_ids": [1], "extra": 1}, "unknown key 'extra'"),
        ({"material_ids": [1]}, "missing \\['order_id'\\]"),
        ({"order_id": "1", "material_ids": [1]}, "'order_id' is not"),
    ],
)
def test_many_events_are_refused_together_for_one_wrong_payload(
    payload: dict[str, Any], reason: str
) -> None:
    good = {"order_id": 2, "material_ids": [2]}
    with pytest.raises(TypeError, match=reason):
        event_emit_many(topic=SHAPED, payloads=[good, payload, good])
    assert not OutboxEvent.objects.exists()


def test_many_events_of_an_undeclared_topic_are_refused() -> None:
    with pytest.raises(ValueError, match="undeclared topic"):
        event_emit_many(topic="order.shipped", payloads=[])


def test_a_topic_is_declared_once() -> None:
    assert declare("test.shaped", Shaped, "A payload with every kind of field.") == SHAPED
    with pytest.raises(ValueError, match="declared twice"):
        declare("test.shaped", Shaped, "Another meaning.")
    with pytest.raises(ValueError, match="declared twice"):
        topic_declare(Topic("order.confirmed", payload=Shaped, description="?", version=2))


def test_a_payload_type_is_a_typed_dict_of_json_types() -> None:
    with pytest.raises(TypeError, match="TypedDict"):
        Topic("test.untyped", payload=dict, description="?")

    class WithSet(TypedDict):
        ids: set[int]

    with pytest.raises(TypeError, match="JSON types only"):
        Topic("test.set", payload=WithSet, description="?")


def emitted_names() -> tuple[set[str], set[str]]:
    """Topic names in the domain apps' source: the string literals given to event_emit or a
    module's ``_emit*`` helper, or as any call's ``topic=``, and the literal prefixes of
    f-strings given so."""
    names: set[str] = set()
    prefixes: set[str] = set()
    for app in DOMAIN_APPS:
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                args = [k.value for k in node.keywords if k.arg == "topic"]
                if name == "event_emit" or name.startswith("_emit"):
                    args += node.args
                for arg in args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        names.add(arg.value)
                    elif isinstance(arg, ast.JoinedStr):
                        first = arg.values[0]
                        assert isinstance(first, ast.Constant), ast.unparse(arg)
                        prefixes.add(str(first.value))
    return names, prefixes


def test_every_topic_the_source_emits_is_declared() -> None:
    names, prefixes = emitted_names()
    declared = {t.name for t in topics()}
    assert len(names) >= 15, names  # the scan finds the emits
    assert names - declared == set()
    assert prefixes == {"order."}
    # The f-string: an order's every status. (Emits naming a Topic object, such as the
    # engine's event_emit_many, are declared by construction.)
    assert {f"order.{status}" for status in OrderStatus} <= declared


def test_every_subscriber_takes_declared_topics() -> None:
    declared = [t.name for t in topics()]
    assert {s.name for s in subscribers()} >= {
        "matching.rematch",
        "matching.permits",
        "orders.expire",
    }
    for sub in subscribers():
        for wanted in sub.topics:
            assert any(sub.takes(name) for name in declared), (sub.name, wanted)
            assert wanted.endswith(".") or wanted in declared, (sub.name, wanted)


def test_the_public_catalogue() -> None:
    """What people and partners may subscribe to (the notifications' catalogue); the rest
    is internal."""
    public = {t.name for t in topics() if t.public}
    assert public == {
        "match.proposed",
        "match.changed",
        "match.withdrawn",
        "match.accepted",
        "match.agreed",
        "match.declined",
        "matching.run_finished",
        "need.expired",
        "reservation.expiring",
        "reservation.expired",
        "webhook.endpoint_disabled",
        "pool.shortfall",
        "pool.draw_granted",
        "pool.obligation_due",
        "pool.obligation_overdue",
        "pool.lot_expiring",
        "major_hazard.changed",
        *(f"order.{status}" for status in OrderStatus),
    }
    assert topic_named("stock.changed").public is False
    assert topic_named("match.released").public is False
    assert all(t.description and t.version >= 1 for t in topics())
