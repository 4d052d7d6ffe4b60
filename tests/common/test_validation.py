"""common.validation: the models' own validators as the services run them, without a query;
a refusal is a 400 naming the field in the API and a form error in the admin."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F

from access.admin import TenantScopedAdmin
from common.admin import ServiceRefused
from common.validation import as_refusal, validate_row, validate_values
from inventory import api as inventory_api
from inventory.models import Material, StockLot, StockMovement
from inventory.services import stock_receive
from parks.models import Enterprise
from tests.validation import row_counts


def test_validate_row_runs_the_field_validators_without_a_query(
    db: Any, django_assert_num_queries: Any
) -> None:
    material = Material(name_zh="水", name_en="Water", cas="7732-18-4", un_number="1017")
    with django_assert_num_queries(0), pytest.raises(ValidationError) as info:
        validate_row(material)
    assert set(info.value.message_dict) == {"cas", "un_number"}


def test_validate_row_checks_only_the_fields_named(db: Any, django_assert_num_queries: Any) -> None:
    material = Material(name_zh="水", name_en="Water", cas="7732-18-4", density_kg_per_l=50)
    with django_assert_num_queries(0), pytest.raises(ValidationError) as info:
        validate_row(material, ["density_kg_per_l", "name_en"])
    assert set(info.value.message_dict) == {"density_kg_per_l"}
    validate_row(material, ["name_en"])


def test_validate_row_leaves_relations_and_uniqueness_to_the_database(
    db: Any, django_assert_num_queries: Any
) -> None:
    # The enterprise's park is not loaded or checked, and its USCC is not looked up.
    enterprise = Enterprise(
        park_id=999_999,
        uscc="91330200MA2AAAAA0L",
        name_zh="企业",
        latitude=Decimal(30),
        longitude=Decimal(121),
    )
    with django_assert_num_queries(0), pytest.raises(ValidationError) as info:
        validate_row(enterprise)
    assert set(info.value.message_dict) == {"uscc"}


def test_validate_values_converts_checks_and_skips_what_the_database_computes() -> None:
    cleaned = validate_values(StockLot, purity_pct="99.5", batch_no="", reserved_kg=F("x") + 1)
    assert cleaned["purity_pct"] == Decimal("99.5")
    with pytest.raises(ValidationError) as info:
        validate_values(StockLot, purity_pct=Decimal(101), grade="g" * 41)
    assert set(info.value.message_dict) == {"purity_pct", "grade"}
    with pytest.raises(ValidationError) as info:
        validate_values(StockMovement, quantity_kg=Decimal("1.0005"), kind="gift")
    assert set(info.value.message_dict) == {"quantity_kg", "kind"}


def test_as_refusal_names_the_first_field() -> None:
    refusal = as_refusal(ValidationError({"cas": ["CAS check digit is wrong."]}))
    assert (refusal.field, refusal.message) == ("cas", "CAS check digit is wrong.")
    assert as_refusal(ValidationError("Broken.")).field == "non_field_errors"


def test_the_admin_shows_a_services_validation_error_on_the_form() -> None:
    def service() -> None:
        raise ValidationError({"purity_pct": ["Ensure this value is less than or equal to 100."]})

    admin = TenantScopedAdmin(Material, None)  # type: ignore[arg-type]
    with pytest.raises(ServiceRefused) as info:
        admin.call_service(service)
    assert info.value.error.field == "purity_pct"


def test_a_services_validation_error_is_a_400_naming_the_field(
    world: dict[str, Any], api_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the serializer let through, the service's validators answer a 400 on the
    model's field, never a 500 (here the receipt's grade, made too long past the serializer)."""

    def receive_with_a_long_grade(**kwargs: Any) -> StockLot:
        return stock_receive(**{**kwargs, "grade": "g" * 41})

    monkeypatch.setattr(inventory_api, "stock_receive", receive_with_a_long_grade)
    body = {
        "material": world["material"].pk,
        "zone": world["zones"]["a1"].pk,
        "quantity": "100",
        "unit": "kg",
    }
    client = api_client(world["users"]["warehouse_keeper"])
    before = row_counts(StockLot, StockMovement)
    response = client.post("/api/v1/lots/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["grade"]
    assert row_counts(StockLot, StockMovement) == before
