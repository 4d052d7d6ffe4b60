"""Import of stock lots from CSV and XLSX through the admin: preview, then confirm; every
row a receipt of the importing user's enterprise, and a bad row writes nothing."""

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from inventory.models import MovementKind, StockLot, StockMovement
from tests import factories as f

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:inventory_stocklot_import")
CONFIRM_URL = reverse("admin:inventory_stocklot_process_import")
HEADER = (
    "material_cas,warehouse_code,zone_code,quantity,unit,batch_no,purity_pct,grade,"
    "produced_on,expires_on"
)
CSV_FORMAT, XLSX_FORMAT = "0", "1"  # the order of StockLotAdmin.import_formats


@pytest.fixture
def keeper(world: dict[str, Any]) -> Client:
    user = world["users"]["warehouse_keeper"]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def csv_file(*rows: str, header: str = HEADER) -> SimpleUploadedFile:
    text = "\n".join([header, *rows]) + "\n"
    return SimpleUploadedFile("lots.csv", text.encode("utf-8"), content_type="text/csv")


def row(world: dict[str, Any], zone: str = "a1", **values: Any) -> str:
    z = world["zones"][zone]
    cells = {
        "material_cas": world["material"].cas,
        "warehouse_code": z.warehouse.code,
        "zone_code": z.code,
        "quantity": "2",
        "unit": "t",
        "batch_no": "B-1",
        "purity_pct": "99.5",
        "grade": "industrial",
        "produced_on": "2026-01-10",
        "expires_on": "2027-01-10",
    }
    cells.update(values)
    return ",".join(str(cells[c]) for c in HEADER.split(","))


def preview(client: Client, upload: SimpleUploadedFile, fmt: str = CSV_FORMAT) -> Any:
    response = client.post(IMPORT_URL, {"import_file": upload, "format": fmt, "resource": "0"})
    assert response.status_code == 200
    return response


def confirm(client: Client, response: Any) -> Any:
    form = response.context["confirm_form"]
    assert form is not None
    return client.post(CONFIRM_URL, {name: form.initial[name] for name in form.fields})


def test_preview_then_confirm_receives_every_row(world: dict[str, Any], keeper: Client) -> None:
    upload = csv_file(
        row(world, "a1", quantity="2", unit="t", batch_no="B-1"),
        row(world, "shared", quantity="250", unit="L", batch_no="B-2"),  # density 0.8
    )
    response = preview(keeper, upload)
    result = response.context["result"]
    assert not result.has_errors()
    assert not result.has_validation_errors()
    assert result.totals["new"] == 2
    # The preview runs the receipts and rolls them back.
    assert not StockLot.objects.exists()
    assert not StockMovement.objects.exists()

    response = confirm(keeper, response)
    assert response.status_code == 302
    lots = {lot.batch_no: lot for lot in StockLot.objects.all()}
    assert set(lots) == {"B-1", "B-2"}
    assert lots["B-1"].on_hand_kg == Decimal("2000.000")
    assert lots["B-1"].zone == world["zones"]["a1"]
    assert lots["B-1"].purity_pct == Decimal("99.5")
    assert lots["B-1"].expires_on == date(2027, 1, 10)
    assert lots["B-2"].on_hand_kg == Decimal("200.000")
    assert lots["B-2"].zone == world["zones"]["shared"]
    for lot in lots.values():
        assert lot.owner == world["enterprises"]["a1"]
        movement = lot.movements.get()
        assert movement.kind == MovementKind.RECEIPT
        assert movement.quantity_kg == lot.on_hand_kg
        assert movement.actor == world["users"]["warehouse_keeper"]
        assert movement.reference == "import:lots.csv"


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ({"zone": "a2"}, "zone_code"),  # another enterprise's zone
        ({"zone": "c"}, "zone_code"),  # another park's
        ({"zone_code": "NOPE"}, "zone_code"),
        ({"material_cas": "7732-18-5"}, "material_cas"),  # not in the catalogue
        ({"material_cas": ""}, "material_cas"),
        ({"unit": "lb"}, "unit"),
        ({"quantity": "-5"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "lots"}, "quantity"),
        ({"quantity": ""}, "quantity"),
        ({"quantity": "20000", "unit": "t"}, "zone_code"),  # over the zone's capacity
        ({"purity_pct": "120"}, "purity_pct"),
        ({"produced_on": "2027-05-01", "expires_on": "2027-01-01"}, "expires_on"),
        ({"expires_on": "next year"}, "expires_on"),
    ],
)
def test_a_bad_row_is_reported_and_nothing_is_written(
    world: dict[str, Any], keeper: Client, values: dict[str, Any], column: str
) -> None:
    zone = values.pop("zone", "a1")
    upload = csv_file(row(world, "a1", batch_no="good"), row(world, zone, **values))
    response = preview(keeper, upload)
    result = response.context["result"]
    assert result.has_validation_errors()
    assert response.context.get("confirm_form") is None
    [invalid] = result.invalid_rows
    assert invalid.number == 2
    assert column in invalid.error_dict, invalid.error_dict
    assert not StockLot.objects.exists()
    assert not StockMovement.objects.exists()


def test_volume_units_need_a_density(world: dict[str, Any], keeper: Client) -> None:
    solid = f.MaterialFactory.create(density_kg_per_l=None, physical_state="solid")
    response = preview(keeper, csv_file(row(world, material_cas=solid.cas, unit="m3")))
    [invalid] = response.context["result"].invalid_rows
    assert "kg" in " ".join(invalid.error_dict["unit"])
    assert not StockLot.objects.exists()


def test_missing_columns_refuse_the_file(world: dict[str, Any], keeper: Client) -> None:
    header = "material_cas,zone_code,quantity,unit"
    z = world["zones"]["a1"]
    upload = csv_file(f"{world['material'].cas},{z.code},1,kg", header=header)
    response = preview(keeper, upload)
    result = response.context["result"]
    assert result.has_errors() or result.has_validation_errors()
    assert response.context.get("confirm_form") is None
    assert not StockLot.objects.exists()


def test_an_id_column_never_updates_an_existing_lot(
    world: dict[str, Any], keeper: Client, receive: Any
) -> None:
    existing = receive(zone=world["zones"]["a1"], material=world["material"], quantity="10")
    upload = csv_file(
        f"{existing.pk}," + row(world, quantity="5", unit="kg"), header="id," + HEADER
    )
    response = confirm(keeper, preview(keeper, upload))
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.on_hand_kg == Decimal("10.000")
    assert existing.movements.count() == 1
    new = StockLot.objects.exclude(pk=existing.pk).get()
    assert new.on_hand_kg == Decimal("5.000")


def test_xlsx_import(world: dict[str, Any], keeper: Client) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    z = world["zones"]["a1"]
    sheet.append(
        [
            world["material"].cas,
            z.warehouse.code,
            z.code,
            1.5,
            "t",
            "X-1",
            98,
            "",
            date(2026, 2, 1),
            date(2027, 2, 1),
        ]
    )
    sheet.append([world["material"].cas, z.warehouse.code, z.code, 300, "kg", 7, None, "AR"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile(
        "lots.xlsx",
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response = preview(keeper, upload, XLSX_FORMAT)
    result = response.context["result"]
    assert not result.has_errors(), [e.error for _, errs in result.row_errors() for e in errs]
    assert not result.has_validation_errors(), [r.error_dict for r in result.invalid_rows]
    assert confirm(keeper, response).status_code == 302
    lots = {lot.batch_no: lot for lot in StockLot.objects.all()}
    assert lots["X-1"].on_hand_kg == Decimal("1500.000")
    assert lots["X-1"].produced_on == date(2026, 2, 1)
    assert lots["X-1"].purity_pct == Decimal(98)
    assert lots["7"].on_hand_kg == Decimal("300.000")
    assert lots["7"].grade == "AR"
    assert StockMovement.objects.filter(kind=MovementKind.RECEIPT).count() == 2


def test_xlsx_with_another_tenants_zone_writes_nothing(
    world: dict[str, Any], keeper: Client
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["material_cas", "warehouse_code", "zone_code", "quantity", "unit"])
    other = world["zones"]["b"]
    sheet.append([world["material"].cas, other.warehouse.code, other.code, 1, "kg"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("lots.xlsx", buffer.getvalue())
    response = preview(keeper, upload, XLSX_FORMAT)
    [invalid] = response.context["result"].invalid_rows
    assert "zone_code" in invalid.error_dict
    assert not StockLot.objects.exists()


def test_a_row_refused_at_confirmation_rolls_the_whole_file_back(
    world: dict[str, Any], keeper: Client, receive: Any
) -> None:
    upload = csv_file(
        row(world, "a1", quantity="1", unit="t", batch_no="first"),
        row(world, "a1", quantity="500", unit="t", batch_no="second"),
    )
    response = preview(keeper, upload)
    assert response.context["confirm_form"] is not None
    # Meanwhile the zone fills up: the second receipt no longer fits.
    other = f.MaterialFactory.create()
    receive(zone=world["zones"]["a1"], material=other, quantity="999000")
    response = confirm(keeper, response)
    assert response.status_code == 302
    assert response["Location"] == IMPORT_URL
    assert any("Nothing was imported" in str(m) for m in get_messages(response.wsgi_request))
    assert set(StockLot.objects.values_list("material_id", flat=True)) == {other.pk}


@pytest.mark.parametrize("who", ["park_operator", "regulator", "superuser", "trader", "viewer"])
def test_users_without_an_enterprise_or_a_stock_role_cannot_import(
    world: dict[str, Any], who: str
) -> None:
    user = world["users"][who]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    assert client.get(IMPORT_URL).status_code == 403
    upload = csv_file(row(world))
    assert client.post(IMPORT_URL, {"import_file": upload, "format": CSV_FORMAT}).status_code == 403
    assert client.post(CONFIRM_URL, {}).status_code == 403
    assert not StockLot.objects.exists()
