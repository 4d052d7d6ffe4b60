"""Tenancy across every API route, derived from the router.

Each registered route must have an entry in ``PRIVATE_OBJECTS`` or ``PUBLIC_ROUTES``;
a route added without one fails ``test_every_route_is_covered``. For each route and each of
its endpoints (list, detail, and every extra action) the matrix checks that:

* another enterprise cannot read or change the private object (404, or 405 where the method
  does not exist), and does not find it in the list;
* a regulator of another park cannot read it; a regulator of its park reads but never writes;
* a viewer never writes; an anonymous caller gets 401.

Routes in ``PARK_STAFF_ROUTES`` hold no enterprise's data but figures about every park (the
matching engine's runs): enterprises find nothing there (404), regulators of any park read,
and nobody but park operators and superusers writes.

Routes in ``REPORT_ROUTES`` are a park's reports (``reports.rules``): the regulators and
the operators of the park and superusers read them; every enterprise's staff, of that park
too, are refused (403: the reports set a park's enterprises side by side); regulators of
another park find nothing (404); nobody writes (no write method: 405).

Routes in ``USER_OBJECTS`` hold one login's own rows (its notifications): nobody else finds
them, not even a regulator of the park or a superuser (404); everyone, a regulator or a
viewer too, reads and marks their own inbox, which changes nothing of anyone else's.
Routes in ``ADMIN_OBJECTS`` hold an enterprise's configuration (its webhook endpoints and
their log): its admins only; other roles are refused (403), other enterprises find
nothing (404), regulators never see them.

The makers here are also the objects of ``tests/access/test_route_matrix.py``, which checks
every action of every route for every role against the access declarations of its view.
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from access.scope import SYSTEM, resolve_scope
from audit.services import audit_record
from config.api_urls import router
from energy.factors import factors_seed
from energy.models import ConversionFactor, Reading
from energy.services.ingest import readings_ingest
from energy.services.meters import meter_create, output_value_create
from inventory.services import permit_create, stock_reserve
from marketplace.services import listing_create, listing_publish, need_create
from notifications.models import Notification
from notifications.services.fanout import event_fan_out
from notifications.services.webhooks import webhook_endpoint_create, webhook_test_send
from orders.services import order_from_match
from pools.models import RequestKind
from pools.services import (
    membership_decide,
    membership_request,
    pool_contribute,
    pool_create,
    pool_draw,
)
from safety.models import HazardUnit
from safety.services import (
    hazard_record,
    incident_report,
    inspection_create,
    major_hazards_recompute,
)
from tests import factories as f

pytestmark = pytest.mark.django_db

Maker = Callable[[dict[str, Any], Any], Any]


def _lot(world: dict[str, Any], receive: Any) -> Any:
    return receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")


def _movement(world: dict[str, Any], receive: Any) -> Any:
    return _lot(world, receive).movements.get()


def _listing(world: dict[str, Any], receive: Any) -> Any:
    lot = _lot(world, receive)
    return listing_create(
        actor=SYSTEM,
        seller=lot.owner,
        lot=lot,
        quantity_kg=Decimal(10),
        price_per_t=Decimal(100),
        available_from=date(2026, 1, 1),
    )


def _need(world: dict[str, Any], receive: Any) -> Any:
    return need_create(
        actor=SYSTEM,
        enterprise=world["enterprises"]["a1"],
        material=world["material"],
        quantity_kg=Decimal(10),
        needed_by=date(2027, 1, 1),
        delivery_zone=world["zones"]["a1"],
    )


def _match(world: dict[str, Any], receive: Any) -> Any:
    """A proposal in which a1 (park A) sells to b (park B): a2 and park C take no part."""
    listing = _listing(world, receive)
    need = f.NeedFactory.create(enterprise=world["enterprises"]["b"], material=listing.material)
    return f.MatchFactory.create(listing=listing, need=need, quantity_kg=Decimal(5))


def _order(world: dict[str, Any], receive: Any) -> Any:
    """A reserved order in which a1 (park A) sells to b (park B), from an agreed match."""
    match = _match(world, receive)
    listing_publish(actor=SYSTEM, listing=match.listing)
    type(match)._default_manager.filter(pk=match.pk).update(status="agreed")
    match.refresh_from_db()
    return order_from_match(actor=resolve_scope(world["users"]["park_b_admin"]), match=match)


def _reservation(world: dict[str, Any], receive: Any) -> Any:
    """Stock of a1 (park A) held for b (park B): a2 and park C take no part."""
    return stock_reserve(
        actor=SYSTEM,
        lot=_lot(world, receive),
        holder=world["enterprises"]["b"],
        quantity_kg=Decimal(5),
        expires_at=None,
        reference="order:1",
    )


def _permit(world: dict[str, Any], receive: Any) -> Any:
    """A safe use licence of a1 (park A), naming the world's material."""
    return permit_create(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        kind="safe_use_licence",
        number="（浙）WH安使证字〔2026〕0001",
        valid_from=date(2026, 1, 1),
        expires_on=date(2028, 12, 31),
        materials=[world["material"]],
    )


def _audit_entry(world: dict[str, Any], receive: Any) -> Any:
    """An audit row of a1 (park A), written by its admin."""
    return audit_record(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        action="enterprise.update",
        target=world["enterprises"]["a1"],
    )


def _notification(world: dict[str, Any], receive: Any) -> Any:
    """A notification of a1's trader (a proposal a1 sells in)."""
    from tests.notifications.helpers import match_data, outbox_event

    event_fan_out(event=outbox_event("match.proposed", match_data(world)))
    return Notification.objects.get(user=world["users"]["trader"])


def _webhook_endpoint(world: dict[str, Any], receive: Any) -> Any:
    endpoint, _secret = webhook_endpoint_create(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        url="https://erp.a1.example.test/hooks",
    )
    return endpoint


def _webhook_delivery(world: dict[str, Any], receive: Any) -> Any:
    endpoint = _webhook_endpoint(world, receive)
    return webhook_test_send(
        actor=resolve_scope(world["users"]["enterprise_admin"]), endpoint=endpoint
    )


def _pool(world: dict[str, Any], receive: Any) -> Any:
    """A pool of park A run by its operators, a1 its one member (a2 is not)."""
    operator = resolve_scope(world["users"]["park_operator"])
    pool = pool_create(
        actor=operator,
        park=world["parks"]["a"],
        code="naoh",
        name="烧碱联储",
        material=world["material"],
        target_kg=Decimal(10000),
        zones=[world["zones"]["shared"]],
    )
    request = membership_request(
        actor=resolve_scope(world["users"]["trader"]),
        pool=pool,
        kind=RequestKind.JOIN,
        commitment_kg=Decimal(6000),
    )
    membership_decide(actor=operator, request=request, approve=True)
    return pool


def _pool_request(world: dict[str, Any], receive: Any) -> Any:
    """a1's pending request to change its commitment in the pool."""
    pool = _pool(world, receive)
    return membership_request(
        actor=resolve_scope(world["users"]["trader"]),
        pool=pool,
        kind=RequestKind.CHANGE,
        commitment_kg=Decimal(5000),
    )


def _pool_contribution(world: dict[str, Any], receive: Any) -> Any:
    pool = _pool(world, receive)
    lot = receive(
        zone=world["zones"]["shared"],
        material=world["material"],
        quantity="1000",
        owner=world["enterprises"]["a1"],
    )
    return pool_contribute(
        actor=resolve_scope(world["users"]["trader"]),
        pool=pool,
        lot=lot,
        quantity_kg=Decimal(500),
    )


def _pool_draw(world: dict[str, Any], receive: Any) -> Any:
    """a1's pending (routine) draw on the pool it stocked."""
    contribution = _pool_contribution(world, receive)
    return pool_draw(
        actor=resolve_scope(world["users"]["trader"]),
        pool=contribution.pool,
        quantity_kg=Decimal(100),
        severity="routine",
        reason="a batch",
    )


def _pool_obligation(world: dict[str, Any], receive: Any) -> Any:
    """a1's obligation to refill its emergency draw."""
    contribution = _pool_contribution(world, receive)
    draw = pool_draw(
        actor=resolve_scope(world["users"]["trader"]),
        pool=contribution.pool,
        quantity_kg=Decimal(100),
        severity="emergency",
        reason="a leak",
    )
    return draw.obligations.get()


def _inspection(world: dict[str, Any], receive: Any) -> Any:
    """An inspection of a1 (park A) by the park's operator."""
    return inspection_create(
        actor=resolve_scope(world["users"]["park_operator"]),
        park=world["parks"]["a"],
        enterprise=world["enterprises"]["a1"],
        inspected_on=date(2026, 1, 5),
    )


def _hidden_hazard(world: dict[str, Any], receive: Any) -> Any:
    """An open hidden hazard of a1, found by the park's regulator."""
    return hazard_record(
        actor=resolve_scope(world["users"]["regulator"]),
        inspection=_inspection(world, receive),
        description="消防通道堵塞",
        grade="general",
        deadline=date(2026, 2, 5),
    )


def _incident(world: dict[str, Any], receive: Any) -> Any:
    """An incident of a1, reported by its admin."""
    from datetime import UTC, datetime

    return incident_report(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        occurred_at=datetime(2026, 1, 10, 8, 0, tzinfo=UTC),
        description="储罐区泄漏",
        serious_injuries=1,
    )


def _hazard_unit(world: dict[str, Any], receive: Any) -> Any:
    """The unit of a1's own warehouse, computed from its stock."""
    _lot(world, receive)
    warehouse_id = world["zones"]["a1"].warehouse_id
    major_hazards_recompute(warehouse_ids=[warehouse_id])
    return HazardUnit.objects.get(warehouse_id=warehouse_id)


def _energy_meter(world: dict[str, Any], receive: Any) -> Any:
    """An electricity meter of a1."""
    return meter_create(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        code="E-01",
        carrier="electricity",
        unit="kWh",
    )


def _energy_reading(world: dict[str, Any], receive: Any) -> Any:
    """A reading of a1's meter."""
    meter = _energy_meter(world, receive)
    factors_seed()  # a flushed database (a transactional test before) lost the migration's
    readings_ingest(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        rows=[{"meter": meter.pk, "at": "2026-03-01T01:00:00+08:00", "value": "12.5"}],
    )
    return Reading.objects.get(meter=meter)


def _energy_output_value(world: dict[str, Any], receive: Any) -> Any:
    """a1's output value of March 2026."""
    return output_value_create(
        actor=resolve_scope(world["users"]["enterprise_admin"]),
        enterprise=world["enterprises"]["a1"],
        month=date(2026, 3, 1),
        value_yuan=Decimal("1250000.00"),
    )


def _energy_factor(world: dict[str, Any], receive: Any) -> Any:
    """A conversion factor: reference data (seeded again if a flush removed them)."""
    factors_seed()
    return ConversionFactor.objects.first()


# Routes whose objects belong to one enterprise (a draft listing is private too).
PRIVATE_OBJECTS: dict[str, Maker] = {
    "warehouse": lambda world, receive: world["zones"]["a1"].warehouse,
    "zone": lambda world, receive: world["zones"]["a1"],
    "lot": _lot,
    "movement": _movement,
    "listing": _listing,
    "need": _need,
    "match": _match,
    "reservation": _reservation,
    "order": _order,
    "permit": _permit,
    "audit-entry": _audit_entry,
    "pool": _pool,
    "pool-request": _pool_request,
    "pool-draw": _pool_draw,
    "pool-obligation": _pool_obligation,
    "pool-contribution": _pool_contribution,
    "inspection": _inspection,
    "hidden-hazard": _hidden_hazard,
    "incident": _incident,
    "hazard-unit": _hazard_unit,
    "energy-meter": _energy_meter,
    "energy-reading": _energy_reading,
    "energy-output-value": _energy_output_value,
}
# Actions another enterprise of the object's park reaches though it cannot read the object:
# asking to join a pool (its operator gives a candidate the pool's id). The empty body of
# the matrix is refused (400); another park's enterprises still find nothing (404).
PARK_WIDE_ACTIONS: dict[str, frozenset[str]] = {"pool": frozenset({"request"})}
# The one exception to "regulators never write" (safety.rules.may_inspect): the inspectors'
# actions, open to the regulators of the object's park (by route: the url's last part, ""
# for a create on the list). The empty body of the matrix is refused (400) or the state
# does not allow it (409: confirming an open hazard): the object never changes. A
# regulator of another park does not find the object (404) or is refused on the body (400).
REGULATOR_WRITES: dict[str, frozenset[str]] = {
    "inspection": frozenset({""}),
    "hidden-hazard": frozenset({"", "confirm", "reopen"}),
}


def no_enterprise_role_writes(viewset: Any, method: str, url: str) -> bool:
    """Whether the detail write ``url`` is an action no enterprise role may take (the
    view's declarations name none): refused (403) whatever the pk, which tells nothing."""
    parts = url.rstrip("/").split("/")
    tail = "" if parts[-1].isdigit() else parts[-1]
    if tail:
        action = next((a.__name__ for a in viewset.get_extra_actions() if a.url_path == tail), tail)
    else:
        action = {"patch": "partial_update", "put": "update", "delete": "destroy"}.get(method, "")
    return viewset.write_roles_by_action.get(action, viewset.write_roles) == frozenset()


def regulator_writes(basename: str, prefix: str, url: str) -> bool:
    """Whether ``url`` (of a route's endpoint) is one of the inspectors' actions."""
    tail = url.removeprefix(f"/api/v1/{prefix}/").rstrip("/")
    last = "" if tail == "" else tail.rsplit("/", 1)[-1]
    return last in REGULATOR_WRITES.get(basename, frozenset()) and not last.isdigit()


# Directories every user reads; only writes are restricted.
PUBLIC_ROUTES: dict[str, Maker] = {
    "park": lambda world, receive: world["parks"]["a"],
    "enterprise": lambda world, receive: world["enterprises"]["a1"],
    "material": lambda world, receive: world["material"],
    "energy-factor": _energy_factor,
}
# Figures about every park: read by park operators, regulators and superusers only.
PARK_STAFF_ROUTES: dict[str, Maker] = {
    "matching-run": lambda world, receive: f.MatchRunFactory.create(),
}


# A park's reports (the object is the park): park A's.
REPORT_ROUTES: dict[str, Maker] = {
    "report-park": lambda world, receive: world["parks"]["a"],
}


# One login's own rows (its inbox): a1's trader's.
USER_OBJECTS: dict[str, Maker] = {"notification": _notification}
# An enterprise's configuration, its admins' only: a1's.
ADMIN_OBJECTS: dict[str, Maker] = {
    "webhook-endpoint": _webhook_endpoint,
    "webhook-delivery": _webhook_delivery,
}


def maker(basename: str) -> Maker:
    return {
        **PRIVATE_OBJECTS,
        **PUBLIC_ROUTES,
        **PARK_STAFF_ROUTES,
        **REPORT_ROUTES,
        **USER_OBJECTS,
        **ADMIN_OBJECTS,
    }[basename]


def routes() -> list[tuple[str, str, Any]]:
    return [(basename, prefix, viewset) for prefix, viewset, basename in router.registry]


def endpoints(prefix: str, viewset: Any, pk: int) -> list[tuple[str, str, bool]]:
    """(method, url, is_write) for every endpoint of a route on object ``pk``."""
    base = f"/api/v1/{prefix}/"
    detail = f"{base}{pk}/"
    out = [
        ("get", base, False),
        ("post", base, True),
        ("get", detail, False),
        ("patch", detail, True),
        ("put", detail, True),
        ("delete", detail, True),
    ]
    for action in viewset.get_extra_actions():
        url = f"{detail if action.detail else base}{action.url_path}/"
        for method in action.mapping:
            out.append((method, url, method not in ("get", "head", "options")))
    return out


def call(client: APIClient, method: str, url: str) -> Any:
    return getattr(client, method)(url, {}, format="json")


def test_every_route_is_covered() -> None:
    registered = {basename for basename, _, _ in routes()}
    covered = (
        set(PRIVATE_OBJECTS)
        | set(PUBLIC_ROUTES)
        | set(PARK_STAFF_ROUTES)
        | set(REPORT_ROUTES)
        | set(USER_OBJECTS)
        | set(ADMIN_OBJECTS)
    )
    assert registered == covered, "every API route needs an entry in the tenancy matrix"


@pytest.mark.parametrize(("basename", "prefix", "viewset"), routes())
def test_other_enterprise_cannot_read_or_change(
    basename: str,
    prefix: str,
    viewset: Any,
    world: dict[str, Any],
    receive: Any,
    api_client: Any,
) -> None:
    # Park staff's routes are as private as can be to an enterprise: it sees none of them.
    private = basename not in PUBLIC_ROUTES
    obj = maker(basename)(world, receive)
    snapshot = type(obj)._default_manager.filter(pk=obj.pk).values().get()
    other = api_client(world["users"]["other_admin"])  # same park, another enterprise
    for method, url, is_write in endpoints(prefix, viewset, obj.pk):
        response = call(other, method, url)
        detail_url = f"/{obj.pk}/" in url
        if basename in REPORT_ROUTES:
            # An enterprise reads no park's reports, its own park's neither; nobody writes.
            allowed_report = (403, 405) if is_write else (403,)
            assert response.status_code in allowed_report, (method, url, response.status_code)
        elif method == "get" and url == f"/api/v1/{prefix}/":
            assert response.status_code == 200, url
            ids = {row["id"] for row in response.json()["results"]}
            assert (obj.pk in ids) != private, f"{url} lists another tenant's {basename}"
        elif (
            private
            and detail_url
            and url.rstrip("/").rsplit("/", 1)[-1] in (PARK_WIDE_ACTIONS.get(basename, frozenset()))
        ):
            assert response.status_code == 400, (method, url, response.status_code)
        elif private and detail_url:
            allowed: tuple[int, ...] = (404, 405)
            if is_write and (
                basename in PARK_STAFF_ROUTES or no_enterprise_role_writes(viewset, method, url)
            ):
                allowed = (403, 404, 405)  # no enterprise role writes there, whatever the pk
            assert response.status_code in allowed, (method, url, response.status_code)
        elif is_write and detail_url:
            # Public directories: another enterprise may read, never change.
            assert response.status_code in (403, 404, 405), (method, url, response.status_code)
    assert type(obj)._default_manager.filter(pk=obj.pk).values().get() == snapshot


@pytest.mark.parametrize(("basename", "prefix", "viewset"), routes())
def test_regulators_read_only_their_parks_and_never_write(
    basename: str,
    prefix: str,
    viewset: Any,
    world: dict[str, Any],
    receive: Any,
    api_client: Any,
) -> None:
    obj = maker(basename)(world, receive)
    own_park = api_client(world["users"]["regulator"])
    far_park = api_client(world["users"]["regulator_c"])
    snapshot = type(obj)._default_manager.filter(pk=obj.pk).values().get()
    for method, url, is_write in endpoints(prefix, viewset, obj.pk):
        detail_url = f"/{obj.pk}/" in url
        if basename in USER_OBJECTS:
            # Another's inbox is not found; their own inbox is theirs to read and mark.
            for client in (own_park, far_park):
                status = call(client, method, url).status_code
                if detail_url:
                    assert status in (404, 405), (method, url, status)
                else:  # reaches the view (a 400: the empty body is refused)
                    assert status in (200, 400, 405), (method, url, status)
        elif is_write and method == "post" and regulator_writes(basename, prefix, url):
            assert call(own_park, method, url).status_code in (400, 409), (method, url)
            assert call(far_park, method, url).status_code in (400, 404), (method, url)
        elif basename in ADMIN_OBJECTS or is_write:
            for client in (own_park, far_park):
                status = call(client, method, url).status_code
                assert status in (403, 405), (method, url, status)
        elif f"/{obj.pk}/" in url and method == "get" and basename in REPORT_ROUTES:
            assert call(own_park, method, url).status_code == 200, url
            assert call(far_park, method, url).status_code == 404, url
        elif method == "get" and basename in REPORT_ROUTES:
            # The list and the comparison: the far park's regulator reads only its own.
            assert call(own_park, method, url).status_code == 200, url
            far = call(far_park, method, url)
            assert far.status_code == 200, url
            listed = far.json().get("results") or far.json().get("parks")
            assert obj.pk not in {row["id"] for row in listed}, url
        elif f"/{obj.pk}/" in url and method == "get" and basename in PRIVATE_OBJECTS:
            assert call(own_park, method, url).status_code == 200, url
            assert call(far_park, method, url).status_code == 404, url
        elif f"/{obj.pk}/" in url and method == "get" and basename in PARK_STAFF_ROUTES:
            for client in (own_park, far_park):
                assert call(client, method, url).status_code == 200, url
    assert type(obj)._default_manager.filter(pk=obj.pk).values().get() == snapshot


@pytest.mark.parametrize(("basename", "prefix", "viewset"), routes())
def test_viewers_never_write_and_anonymous_is_refused(
    basename: str,
    prefix: str,
    viewset: Any,
    world: dict[str, Any],
    receive: Any,
    api_client: Any,
) -> None:
    obj = maker(basename)(world, receive)
    viewer = api_client(world["users"]["viewer"])
    anonymous = api_client(None)
    snapshot = type(obj)._default_manager.filter(pk=obj.pk).values().get()
    for method, url, is_write in endpoints(prefix, viewset, obj.pk):
        if is_write:
            status = call(viewer, method, url).status_code
            if basename in USER_OBJECTS and f"/{obj.pk}/" not in url:
                assert status in (200, 400, 405), (method, url, status)  # own inbox
            elif basename in USER_OBJECTS:
                assert status in (404, 405), (method, url, status)  # another's notification
            else:
                assert status in (403, 405), (method, url, status)
        assert call(anonymous, method, url).status_code == 401, (method, url)
    assert type(obj)._default_manager.filter(pk=obj.pk).values().get() == snapshot


@pytest.mark.parametrize(("basename", "prefix", "viewset"), routes())
def test_options_answers_every_endpoint_without_an_error(
    basename: str,
    prefix: str,
    viewset: Any,
    world: dict[str, Any],
    receive: Any,
    api_client: Any,
) -> None:
    """DRF's OPTIONS describes a view's writes, and for a PUT it looks up an object: a
    list-level PUT once answered 500 here. Every endpoint answers OPTIONS, for its owner
    and for another tenant."""
    obj = maker(basename)(world, receive)
    urls = {url for _method, url, _is_write in endpoints(prefix, viewset, obj.pk)}
    for user in ("enterprise_admin", "other_admin", "regulator", "superuser"):
        client = api_client(world["users"][user])
        for url in sorted(urls):
            status = client.options(url).status_code
            assert status < 500, (user, url, status)
