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
}
# Actions another enterprise of the object's park reaches though it cannot read the object:
# asking to join a pool (its operator gives a candidate the pool's id). The empty body of
# the matrix is refused (400); another park's enterprises still find nothing (404).
PARK_WIDE_ACTIONS: dict[str, frozenset[str]] = {"pool": frozenset({"request"})}
# Directories every user reads; only writes are restricted.
PUBLIC_ROUTES: dict[str, Maker] = {
    "park": lambda world, receive: world["parks"]["a"],
    "enterprise": lambda world, receive: world["enterprises"]["a1"],
    "material": lambda world, receive: world["material"],
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
            if is_write and basename in PARK_STAFF_ROUTES:
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
