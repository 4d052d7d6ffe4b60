"""The energy admin: readings uploaded from CSV and XLSX through the ingest (refused rows
shown with their line), meters and output values through their services, factors kept by
superusers, every page rendering for every role."""

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from audit.models import AuditEntry
from energy.models import ConversionFactor, Meter, OutputValue, Reading

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:energy_reading_upload")


def client_for(user: Any) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def test_csv_upload_stores_the_valid_rows_and_shows_the_refused(
    world: dict[str, Any], make_meter: Any
) -> None:
    meter = make_meter(code="GAS-1", carrier="natural_gas", unit="m3")
    theirs = make_meter("a2", code="X-1")
    text = (
        "meter,at,value\n"
        "GAS-1,2026-03-01T01:00:00+08:00,12.5\n"
        f"{meter.pk},2026-03-01T02:00:00+08:00,13\n"
        "GAS-1,2026-03-01T03:00:00,14\n"  # naive
        f"{theirs.pk},2026-03-01T03:00:00+08:00,1\n"  # another enterprise's
        "X-1,2026-03-01T03:00:00+08:00,1\n"  # its code is not ours
        "GAS-1,2026-03-01T04:00:00+08:00,-2\n"
    )
    client = client_for(world["users"]["enterprise_admin"])
    page = client.get(reverse("admin:energy_reading_changelist"))
    assert UPLOAD in page.content.decode()
    answer = client.post(
        UPLOAD, {"file": SimpleUploadedFile("r.csv", text.encode(), content_type="text/csv")}
    )
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "2 readings stored, 0 duplicates, 4 refused." in body
    assert body.count('class="refused"') == 4
    assert "<td>4</td><td>at</td>" in body  # the file's line 4
    assert Reading.objects.filter(meter=meter).count() == 2
    assert AuditEntry.objects.filter(action="readings.ingest").count() == 1


def test_xlsx_upload_with_local_times(world: dict[str, Any], make_meter: Any) -> None:
    from datetime import datetime

    meter = make_meter(code="P-1")
    book = Workbook()
    sheet = book.active
    sheet.append(["meter", "at", "value"])
    sheet.append(["P-1", datetime(2026, 3, 1, 1, 0), 10.5])
    sheet.append([meter.pk, datetime(2026, 3, 1, 2, 0), 11])
    out = io.BytesIO()
    book.save(out)
    client = client_for(world["users"]["enterprise_admin"])
    upload = SimpleUploadedFile("r.xlsx", out.getvalue())
    answer = client.post(UPLOAD, {"file": upload, "local_times": "on"})
    assert "2 readings stored" in answer.content.decode()
    assert sorted(Reading.objects.values_list("value", flat=True)) == [
        Decimal("10.5"),
        Decimal("11"),
    ]
    garbage = SimpleUploadedFile("r.xlsx", b"not a workbook")
    answer = client.post(UPLOAD, {"file": garbage})
    assert answer.status_code == 200 and "Not a CSV" in answer.content.decode()


@pytest.mark.parametrize("who", ["trader", "viewer", "regulator", "park_operator"])
def test_only_admins_upload(world: dict[str, Any], who: str) -> None:
    client = client_for(world["users"][who])
    assert client.get(UPLOAD).status_code == 403


def test_meter_and_output_value_through_the_services(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["enterprise_admin"])
    answer = client.post(
        reverse("admin:energy_meter_add"),
        {"code": "E-9", "name": "", "carrier": "electricity", "unit": "kg", "is_active": "on"},
    )
    assert answer.status_code == 200 and not Meter.objects.exists()  # a form error on unit
    answer = client.post(
        reverse("admin:energy_meter_add"),
        {"code": "E-9", "name": "", "carrier": "electricity", "unit": "kWh", "is_active": "on"},
    )
    assert answer.status_code == 302
    assert AuditEntry.objects.filter(action="meter.create").count() == 1
    answer = client.post(
        reverse("admin:energy_outputvalue_add"), {"month": "2026-03-01", "value_yuan": "100"}
    )
    assert answer.status_code == 302
    output = OutputValue.objects.get()
    assert output.enterprise == world["enterprises"]["a1"]
    client.post(reverse("admin:energy_outputvalue_delete", args=[output.pk]), {"post": "yes"})
    assert not OutputValue.objects.exists()
    assert AuditEntry.objects.filter(action="output_value.delete").count() == 1


def test_factors_are_added_by_superusers_only(world: dict[str, Any]) -> None:
    assert (
        client_for(world["users"]["enterprise_admin"])
        .get(reverse("admin:energy_conversionfactor_add"))
        .status_code
        == 403
    )
    root = client_for(world["users"]["superuser"])
    answer = root.post(
        reverse("admin:energy_conversionfactor_add"),
        {
            "carrier": "electricity",
            "convention": "equal_value",
            "kgce_per_unit": "0.2950",
            "valid_from": "2027-01-01",
            "source": "2027 national figure",
        },
    )
    assert answer.status_code == 302
    ended = ConversionFactor.objects.get(valid_from="2026-01-01", convention="equal_value")
    assert ended.valid_until == date(2026, 12, 31)


@pytest.mark.parametrize(
    "who", ["enterprise_admin", "viewer", "regulator", "park_operator", "superuser"]
)
def test_every_energy_page_renders(
    world: dict[str, Any], make_meter: Any, admin_a1: Any, who: str
) -> None:
    from energy.services.ingest import readings_ingest
    from tests.energy.conftest import hourly

    meter = make_meter(anomaly_factor=Decimal("1.5"))
    values = ["10"] * 24
    values[3] = "100"
    readings_ingest(actor=admin_a1, rows=hourly(meter, "2026-03-01", values))
    client = client_for(world["users"][who])
    for model, model_admin in django_admin.site._registry.items():
        if model._meta.app_label != "energy":
            continue
        name = f"admin:energy_{model._meta.model_name}"
        response = client.get(reverse(f"{name}_changelist"))
        if response.status_code == 403:
            continue
        assert response.status_code == 200, name
        request = response.wsgi_request
        if model_admin.has_add_permission(request):
            assert client.get(reverse(f"{name}_add")).status_code == 200, name
        for obj in model_admin.get_queryset(request)[:3]:
            assert client.get(reverse(f"{name}_change", args=[obj.pk])).status_code == 200, name
