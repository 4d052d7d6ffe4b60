"""A client that nobody here wrote, generated from the schema by openapi-python-client, walks
a listing from draft to a completed order on a live server; every answer, the errors too,
must parse into the schema's models (an undocumented status raises).

The client is generated afresh into a temporary directory on every run, from the schema the
code builds now: a change of the API that breaks generated clients fails here.
"""

import importlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from knox.models import AuthToken

from tests import factories as f

PACKAGE = "parkshare_client"
GENERATOR_CONFIG = f"""\
package_name_override: {PACKAGE}
project_name_override: parkshare-client
post_hooks: []
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], ModuleType]]:
    """``generated("api.v1.v1_orders_create")``: a module of the client generated now."""
    root = tmp_path_factory.mktemp("client")
    schema = SchemaGenerator().get_schema(request=None, public=True)
    (root / "schema.yaml").write_bytes(OpenApiYamlRenderer().render(schema))
    (root / "config.yaml").write_text(GENERATOR_CONFIG, encoding="utf-8")
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(  # noqa: S603  -- the venv's generator, fixed arguments
        [
            str(generator),
            "generate",
            "--path",
            "schema.yaml",
            "--output-path",
            str(root / PACKAGE),
            "--meta",
            "none",
            "--config",
            "config.yaml",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator reports what it could not turn into code as warnings; there must be none.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture(autouse=True)
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events stay pending: the rematches they trigger are the engine's, tested there."""
    from common.tasks import outbox_fanout

    monkeypatch.setattr(outbox_fanout, "delay", lambda *args, **kwargs: None)


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_takes_a_listing_to_a_completed_order(
    generated: Callable[[str], ModuleType],
    live_server: Any,
    world: dict[str, Any],
    receive: Any,
) -> None:
    client_module = generated("client")
    models = generated("models")
    api = {
        name: generated(f"api.v1.v1_{name}")
        for name in (
            "listings_create",
            "listings_publish_create",
            "orders_create",
            "orders_confirm_create",
            "orders_dispatch_create",
            "orders_receive_create",
            "orders_complete_create",
            "orders_retrieve",
        )
    }
    seller, buyer = world["enterprises"]["a1"], world["enterprises"]["a2"]
    lot = receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")
    buyer_trader = f.MembershipFactory.create(enterprise=buyer, role="trader").user
    buyer_keeper = f.MembershipFactory.create(enterprise=buyer, role="warehouse_keeper").user

    def as_user(user: Any) -> Any:
        _, token = AuthToken.objects.create(user=user)
        return client_module.AuthenticatedClient(
            base_url=live_server.url, token=token, raise_on_unexpected_status=True, timeout=30
        )

    seller_trader = as_user(world["users"]["trader"])
    seller_keeper = as_user(world["users"]["warehouse_keeper"])
    trader, keeper = as_user(buyer_trader), as_user(buyer_keeper)

    # The seller lists 500 kg of its lot, as a draft, then publishes it.
    created = api["listings_create"].sync_detailed(
        client=seller_trader,
        body=models.ListingCreateRequest(
            lot=lot.pk,
            quantity="500",
            unit="kg",
            price_per_t="3000",
            available_from=date(2026, 1, 1),
        ),
    )
    assert created.status_code == 201, created.content
    listing = created.parsed
    assert isinstance(listing, models.Listing)
    assert (listing.status, listing.seller) == (models.ListingStatusEnum.DRAFT, seller.pk)
    published = api["listings_publish_create"].sync_detailed(listing.id, client=seller_trader)
    assert published.status_code == 200, published.content
    assert published.parsed.status == models.ListingStatusEnum.PUBLISHED

    # The buyer orders 100 kg of it; a retry with the same key is answered the same.
    body = models.OrderCreateRequest(listing=listing.id, quantity="100", unit="kg")
    ordered = api["orders_create"].sync_detailed(
        client=trader, body=body, idempotency_key="order-100kg"
    )
    assert ordered.status_code == 201, ordered.content
    order = ordered.parsed
    assert isinstance(order, models.OrderDetail)
    assert order.status == models.OrderStatusEnum.RESERVED
    replayed = api["orders_create"].sync_detailed(
        client=trader, body=body, idempotency_key="order-100kg"
    )
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.parsed.id == order.id

    # Each step by its side and role, each answered with the order as it now stands.
    steps = [
        (
            "confirmed",
            lambda: api["orders_confirm_create"].sync_detailed(
                order.id, client=seller_trader, body=models.OrderReasonRequest(reason="ok")
            ),
        ),
        (
            "dispatched",
            lambda: api["orders_dispatch_create"].sync_detailed(order.id, client=seller_keeper),
        ),
        (
            "received",
            lambda: api["orders_receive_create"].sync_detailed(
                order.id,
                client=keeper,
                body=models.OrderReceiveRequest(zone=world["zones"]["a2"].pk),
            ),
        ),
        (
            "completed",
            lambda: api["orders_complete_create"].sync_detailed(order.id, client=trader),
        ),
    ]
    for expected, step in steps:
        response = step()
        assert response.status_code == 200, (expected, response.content)
        assert isinstance(response.parsed, models.OrderDetail)
        assert response.parsed.status == models.OrderStatusEnum(expected)

    read = api["orders_retrieve"].sync_detailed(order.id, client=trader)
    assert read.status_code == 200
    assert read.parsed.status == models.OrderStatusEnum.COMPLETED
    assert [t.to_status for t in read.parsed.transitions] == [
        "reserved",
        "confirmed",
        "dispatched",
        "received",
        "completed",
    ]

    # Errors parse into the Error model: a step the status refuses (409 on status) ...
    again = api["orders_complete_create"].sync_detailed(order.id, client=trader)
    assert again.status_code == 409
    error = again.parsed
    assert isinstance(error, models.Error)
    assert (error.error.status, error.error.code) == (409, "invalid_transition")
    assert "status" in error.error.fields.additional_properties
    assert error.error.message

    # ... the same key with another request (422), and another side's step (403).
    reused = api["orders_create"].sync_detailed(
        client=trader,
        body=models.OrderCreateRequest(listing=listing.id, quantity="5", unit="kg"),
        idempotency_key="order-100kg",
    )
    assert reused.status_code == 422
    assert isinstance(reused.parsed, models.Error)
    assert reused.parsed.error.code == "idempotency_key_reused"
    refused = api["orders_confirm_create"].sync_detailed(
        order.id, client=trader, body=models.OrderReasonRequest()
    )
    assert refused.status_code == 403
    assert isinstance(refused.parsed, models.Error)
    assert refused.parsed.error.status == 403
