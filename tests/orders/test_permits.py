"""Orders of controlled chemicals (管制类危险化学品): refused to a buyer without a valid permit
covering the material (inventory.controls), allowed once it holds one."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from access.scope import resolve_scope
from inventory.controls import PermitKind
from inventory.data.controls import control_fields
from inventory.exceptions import PermitRequired
from inventory.models import Material, Reservation
from inventory.services import permit_create
from matching.models import MatchStatus
from orders.models import Order
from tests import factories as f
from tests.orders.conftest import World, from_match, place

pytestmark = pytest.mark.django_db
K = PermitKind


def control(deal: World, cas: str) -> None:
    """Put the deal's material under the controls of the catalogue entry ``cas``."""
    Material.objects.filter(pk=deal["material"].pk).update(
        name_en="Sodium cyanide" if cas == "143-33-9" else "Potassium permanganate",
        **control_fields(cas),
    )


def grant(deal: World, kind: str, *, materials: Any = (), days: tuple[int, int] = (-30, 300)):
    today = timezone.localdate()
    return permit_create(
        actor=resolve_scope(deal["buyers"]["admin"]),
        enterprise=deal["buyer"],
        kind=kind,
        number=f"{kind}-{days}",
        valid_from=today + timedelta(days=days[0]),
        expires_on=today + timedelta(days=days[1]),
        materials=materials,
    )


def nothing_written(deal: World) -> None:
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    deal["listing"].refresh_from_db()
    assert deal["listing"].ordered_kg == 0
    deal["match"].refresh_from_db()
    assert deal["match"].status == MatchStatus.AGREED


def test_a_direct_order_is_refused_then_allowed_once_the_buyer_holds_a_licence(
    deal: World,
) -> None:
    control(deal, "143-33-9")
    with pytest.raises(PermitRequired) as refused:
        place(deal)
    assert refused.value.field == "listing"
    assert refused.value.status_code == 409
    assert refused.value.message.startswith(
        "Sodium cyanide is a highly toxic chemical (剧毒化学品); the buyer holds no valid"
    )
    nothing_written(deal)
    grant(deal, K.SAFE_USE_LICENCE)
    assert place(deal).buyer == deal["buyer"]


def test_an_order_from_a_match_is_refused_then_allowed(deal: World) -> None:
    control(deal, "143-33-9")
    with pytest.raises(PermitRequired) as refused:
        from_match(deal)
    assert refused.value.field == "match"
    nothing_written(deal)
    grant(deal, K.HIGHLY_TOXIC_PURCHASE_PERMIT, materials=[deal["material"]])
    order = from_match(deal)
    deal["match"].refresh_from_db()
    assert deal["match"].status == MatchStatus.ORDERED
    assert order.material == deal["material"]


def test_the_sellers_permits_do_not_count_the_buyers_do(deal: World) -> None:
    control(deal, "143-33-9")
    permit_create(
        actor=resolve_scope(deal["sellers"]["admin"]),
        enterprise=deal["seller"],
        kind=K.SAFETY_PRODUCTION_LICENCE,
        number="S-1",
        valid_from=timezone.localdate() - timedelta(days=1),
        expires_on=timezone.localdate() + timedelta(days=1),
    )
    with pytest.raises(PermitRequired):
        from_match(deal)  # asked by the buyer
    from orders.services import order_from_match

    with pytest.raises(PermitRequired):
        order_from_match(actor=resolve_scope(deal["sellers"]["admin"]), match=deal["match"])


@pytest.mark.parametrize(
    "days", [(-30, -1), (1, 30)], ids=["expired yesterday", "valid from tomorrow"]
)
def test_a_permit_not_valid_today_permits_nothing(deal: World, days: tuple[int, int]) -> None:
    control(deal, "143-33-9")
    grant(deal, K.BUSINESS_LICENCE, days=days)
    with pytest.raises(PermitRequired):
        place(deal)
    grant(deal, K.BUSINESS_LICENCE, days=(0, 0))  # valid today only
    assert place(deal)


def test_a_permit_naming_another_material_does_not_cover_this_one(deal: World) -> None:
    control(deal, "143-33-9")
    grant(deal, K.HIGHLY_TOXIC_PURCHASE_PERMIT, materials=[f.MaterialFactory.create()])
    with pytest.raises(PermitRequired):
        place(deal)


def test_a_material_on_two_lists_needs_both_permits(deal: World) -> None:
    control(deal, "7722-64-7")  # explosive precursor and drug precursor category 3
    grant(deal, K.SAFE_USE_LICENCE)
    with pytest.raises(PermitRequired) as refused:
        place(deal)
    assert "category 3 drug precursor" in refused.value.message
    grant(deal, K.DRUG_PRECURSOR_FILING_CERTIFICATE, materials=[deal["material"]])
    assert place(deal)


def test_an_uncontrolled_material_needs_no_permit(deal: World) -> None:
    assert place(deal)
    assert from_match(deal)


def test_the_api_answers_409_naming_the_rule(deal: World, api_client: Any) -> None:
    control(deal, "143-33-9")
    client = api_client(deal["buyers"]["trader"])
    data = {"listing": deal["listing"].pk, "quantity": "100", "unit": "kg"}
    response = client.post("/api/v1/orders/", data, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "permit_required"
    assert "剧毒化学品" in error["fields"]["listing"][0]
    grant(deal, K.SAFE_USE_LICENCE)
    assert client.post("/api/v1/orders/", data, format="json").status_code == 201
    assert Order.objects.get().quantity_kg == Decimal("100")
