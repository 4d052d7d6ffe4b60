"""Every route × every action × every role, the expected answer derived from the access module.

Routes come from the router (``config.api_urls.router``) and actions from each viewset, the
way DRF binds them: list, retrieve, create, update, partial_update, destroy where the
viewset has them (and its ``http_method_names`` allows the method), and every ``@action``.
A route needs nothing in this file but an object to aim at (``tests.test_tenancy_matrix``
makes one per basename; a route without one fails there and here).

The expected answer of each caller is computed from the same declarations the view runs:

* anonymous: 401;
* the view's permission classes (``access.api.ScopedPermission``, i.e. ``access.rules.
  may_write`` over the view's ``write_roles`` / ``write_roles_by_action`` /
  ``park_operator_actions``; regulators and viewers never write; plus any permission the
  view adds, as the audit trail's) refuse: 403 with that permission's message, never 2xx
  (and ``ScopedPermission`` is checked to answer exactly what ``may_write`` says of the
  view's declarations);
* otherwise, on one object: 404 when it is outside the view's ``scoped_queryset`` for that
  action and method (another tenant's object); else a read answers 200 and a write reaches
  the view (no 404, no refusal by the permissions, no 5xx; the body is empty, so a 400 or
  a 409 of the service is as good as a 2xx here);
* a list: 200, listing the object exactly when the scoped queryset holds it.

Where an action's own service adds rules after the access layer (an order's steps are the
seller's or the buyer's by side; stock and permits are recorded by an enterprise's staff
for it, not by a superuser), the matrix checks the access-level rule only: such a refusal
carries the service's message, not the permission's. The step rules by side are proven in
``tests/orders/test_admin_steps.py``.

Each request runs in a savepoint rolled back after it, so every caller meets the same world
and a write that succeeds changes nothing for the next one.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from knox.models import AuthToken
from rest_framework.request import Request
from rest_framework.routers import Route
from rest_framework.test import APIClient, APIRequestFactory

from access.api import ScopedPermission, ScopedViewSetMixin
from access.rules import has_standing, may_write
from access.scope import resolve_scope
from config.api_urls import router
from tests import factories as f
from tests.test_tenancy_matrix import (
    ADMIN_OBJECTS,
    PRIVATE_OBJECTS,
    REPORT_ROUTES,
    USER_OBJECTS,
    maker,
)

pytestmark = pytest.mark.django_db

ENTERPRISE_ROLES = ("enterprise_admin", "trader", "warehouse_keeper", "viewer")
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


@dataclass(frozen=True)
class Endpoint:
    method: str
    action: str
    detail: bool
    url_path: str | None = None  # an @action's

    def url(self, prefix: str, pk: int) -> str:
        url = f"/api/v1/{prefix}/"
        if self.detail:
            url += f"{pk}/"
        if self.url_path:
            url += f"{self.url_path}/"
        return url


def endpoints(viewset: Any) -> list[Endpoint]:
    """Every (method, action) DRF serves for ``viewset``: the router's standard routes bound
    to the actions the viewset has, and its extra actions."""
    allowed = set(viewset.http_method_names)
    out: list[Endpoint] = []
    for route in router.routes:
        if not isinstance(route, Route):  # the dynamic routes: the extra actions below
            continue
        for method, action in route.mapping.items():
            if hasattr(viewset, action) and method in allowed:
                out.append(Endpoint(method, action, route.detail))
    for extra in viewset.get_extra_actions():
        for method, action in extra.mapping.items():
            if method in allowed:
                out.append(Endpoint(method, action, extra.detail, extra.url_path))
    return out


def routes() -> list[Any]:
    return [
        pytest.param(prefix, viewset, basename, id=basename)
        for prefix, viewset, basename in router.registry
    ]


@pytest.fixture
def callers(world: dict[str, Any]) -> dict[str, Any]:
    """Every kind of caller: the four roles of the owning enterprise (a1), of another
    enterprise in its park (a2) and of one in another park (c); the admin of b (park B, the
    buyer in the world's deals); park staff of park A and of park C; a superuser; nobody."""
    users = world["users"]
    ents = world["enterprises"]
    cast: dict[str, Any] = {f"a1:{role}": users[role] for role in ENTERPRISE_ROLES}
    for key, enterprise in (("a2", ents["a2"]), ("c", ents["c"])):
        for role in ENTERPRISE_ROLES:
            if role == "enterprise_admin":
                user = users["other_admin" if key == "a2" else "park_c_admin"]
            else:
                user = f.MembershipFactory.create(enterprise=enterprise, role=role).user
            cast[f"{key}:{role}"] = user
    cast["b:enterprise_admin"] = users["park_b_admin"]
    cast["park_operator:a"] = users["park_operator"]
    cast["park_operator:c"] = f.ParkRoleFactory.create(
        park=world["parks"]["c"], role="park_operator"
    ).user
    cast["regulator:a"] = users["regulator"]
    cast["regulator:c"] = users["regulator_c"]
    cast["superuser"] = users["superuser"]
    cast["anonymous"] = None
    return cast


@pytest.fixture
def clients(callers: dict[str, Any]) -> dict[str, APIClient]:
    out = {}
    for name, user in callers.items():
        client = APIClient()
        if user is not None:
            _, token = AuthToken.objects.create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        out[name] = client
    return out


@dataclass(frozen=True)
class Expected:
    status: int | None  # an exact status, or None: "reaches the view"
    refusal: str | None = None  # the message of the permission that refuses
    listed: bool | None = None  # on a list: whether the object is in it


def view_for(viewset: Any, endpoint: Endpoint, user: Any, url: str, pk: int) -> Any:
    """The view as DRF sets it up for this request, before its permissions run."""
    django_request = getattr(APIRequestFactory(), endpoint.method)(url)
    request = Request(django_request)
    request.user = user
    view = viewset(action_map={endpoint.method: endpoint.action})
    view.action = endpoint.action
    view.request = request
    view.args = ()
    view.kwargs = {"pk": str(pk)} if endpoint.detail else {}
    view.format_kwarg = None
    return view


def expected(viewset: Any, endpoint: Endpoint, user: Any, url: str, pk: int) -> Expected:
    if user is None:
        return Expected(401)
    view = view_for(viewset, endpoint, user, url, pk)
    scope = resolve_scope(user)
    if endpoint.method in WRITE_METHODS:
        # The permission the view runs answers what the rule says of the view's declarations.
        declared = may_write(
            scope,
            roles=view.get_write_roles(endpoint.action),
            park_operator=view.park_operator_may_write(endpoint.action),
        )
        assert ScopedPermission().has_permission(view.request, view) == declared, (
            f"{viewset.__name__}.{endpoint.action}: ScopedPermission is not may_write"
        )
    for permission in view.get_permissions():
        if not permission.has_permission(view.request, view):
            return Expected(403, refusal=str(getattr(permission, "message", "")))
    in_scope = view.scoped_queryset(scope).filter(pk=pk).exists()
    # One rule: a scope with no standing sees nothing at all.
    assert has_standing(scope) or not in_scope
    if endpoint.detail and not in_scope:
        return Expected(404)
    if endpoint.method == "get":
        return Expected(200, listed=in_scope if endpoint.action == "list" else None)
    return Expected(None)


def refusal_of(response: Any) -> str | None:
    if response.status_code != 403:
        return None
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return None


def call_rolled_back(client: APIClient, method: str, url: str) -> Any:
    """The answer to an empty body, in a savepoint rolled back after it."""
    with transaction.atomic():
        response = getattr(client, method)(url, {}, format="json")
        transaction.set_rollback(True)
    return response


def refusals(viewset: Any) -> set[str]:
    """The messages the view's permission classes refuse with."""
    return {str(getattr(permission, "message", "")) for permission in viewset.permission_classes}


def never_writes(name: str) -> bool:
    """The callers no declaration may let write: regulators, viewers, anonymous."""
    return name.startswith("regulator:") or name.endswith(":viewer") or name == "anonymous"


def regulator_may(viewset: Any, endpoint: Endpoint, name: str) -> bool:
    """The one exception to "regulators never write": the inspectors' actions of the safety
    views (``inspector_actions``, safety.rules.may_inspect), open to regulators."""
    return name.startswith("regulator:") and endpoint.action in getattr(
        viewset, "inspector_actions", ()
    )


def far_from(name: str) -> bool:
    """The callers of park C, which takes no part in the world's objects of park A."""
    return name.startswith(("c:", "park_operator:c", "regulator:c"))


def check(
    prefix: str,
    viewset: Any,
    obj: Any,
    callers: dict[str, Any],
    clients: dict[str, Any],
    *,
    private: bool,
    own_rows: bool = False,
) -> list[str]:
    mismatches: list[str] = []
    barred = refusals(viewset)
    for endpoint in endpoints(viewset):
        url = endpoint.url(prefix, obj.pk)
        for name, user in callers.items():
            want = expected(viewset, endpoint, user, url, obj.pk)
            where = f"{name} {endpoint.method.upper()} {url} ({endpoint.action})"
            if (
                endpoint.method in WRITE_METHODS
                and never_writes(name)
                and not regulator_may(viewset, endpoint, name)
            ):
                if own_rows and name != "anonymous":
                    # A login's own inbox: a regulator or a viewer marks its own rows, and
                    # never finds another's.
                    assert not endpoint.detail or want.status == 404, f"{where}: another's"
                else:
                    # The declarations themselves: whatever a view names, these never write.
                    assert want.status in (401, 403), f"{where}: declared writable"
            if private and endpoint.detail and far_from(name):
                # Nor may any declaration show an enterprise's object to another park.
                assert want.status in (403, 404), f"{where}: declared visible"
            response = call_rolled_back(clients[name], endpoint.method, url)
            got = response.status_code
            refused_by = refusal_of(response)
            if want.status is not None and got != want.status:
                mismatches.append(f"{where}: {got}, expected {want.status} {want.refusal or ''}")
            elif want.refusal is not None and refused_by != want.refusal:
                mismatches.append(f"{where}: refused as {refused_by!r}, not {want.refusal!r}")
            elif want.listed is not None:
                ids = {row["id"] for row in response.json()["results"]}
                if (obj.pk in ids) != want.listed:
                    mismatches.append(f"{where}: listed {obj.pk in ids}, expected {want.listed}")
            elif want.status is None and (
                got in (401, 404, 405) or got >= 500 or refused_by in barred
            ):
                # Past the access layer the view answers (its service may still refuse, in
                # its own words), never as if the object were not there or the role barred.
                mismatches.append(f"{where}: {got} {refused_by or ''}, expected to pass")
    return mismatches


@pytest.mark.parametrize(("prefix", "viewset", "basename"), routes())
def test_every_action_answers_every_role_as_the_access_module_declares(
    prefix: str,
    viewset: Any,
    basename: str,
    world: dict[str, Any],
    receive: Any,
    callers: dict[str, Any],
    clients: dict[str, Any],
) -> None:
    obj = maker(basename)(world, receive)
    snapshot = type(obj)._default_manager.filter(pk=obj.pk).values().get()
    mismatches = check(
        prefix,
        viewset,
        obj,
        callers,
        clients,
        private=basename in PRIVATE_OBJECTS
        or basename in REPORT_ROUTES
        or basename in USER_OBJECTS
        or basename in ADMIN_OBJECTS,
        own_rows=basename in USER_OBJECTS,
    )
    assert mismatches == [], "\n".join(mismatches)
    assert type(obj)._default_manager.filter(pk=obj.pk).values().get() == snapshot


def test_the_matrix_enumerates_every_kind_of_action() -> None:
    """The enumeration is not empty-handed: it finds the standard actions, the extra ones
    (with their url_path), and leaves out what a viewset does not serve."""
    by_route = {basename: endpoints(viewset) for _, viewset, basename in router.registry}
    permit = {(e.method, e.action) for e in by_route["permit"]}
    assert ("delete", "destroy") in permit and ("put", "update") not in permit
    orders = {(e.method, e.action, e.url_path) for e in by_route["order"]}
    assert ("post", "dispatch_order", "dispatch") in orders
    assert ("post", "create", None) in orders and ("patch", "partial_update", None) not in orders
    assert {e.action for e in by_route["park"]} == {"list", "retrieve"}
    assert ("get", "occupancy", "occupancy") in {
        (e.method, e.action, e.url_path) for e in by_route["zone"]
    }


@pytest.mark.parametrize(("prefix", "viewset", "basename"), routes())
def test_every_write_action_declares_who_writes(prefix: str, viewset: Any, basename: str) -> None:
    """A viewset that writes names its roles itself (``write_roles`` in its own classes, or
    the action in ``write_roles_by_action``): no write runs on the base's default."""
    own_classes = [c for c in viewset.__mro__ if c is not ScopedViewSetMixin]
    declares_roles = any("write_roles" in c.__dict__ for c in own_classes)
    for endpoint in endpoints(viewset):
        if endpoint.method not in WRITE_METHODS:
            continue
        assert declares_roles or endpoint.action in viewset.write_roles_by_action, (
            f"{basename}: {endpoint.action} writes without declared roles"
        )
    assert issubclass(viewset, ScopedViewSetMixin)
