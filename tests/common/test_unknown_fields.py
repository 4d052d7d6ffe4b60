"""Every write of the API refuses fields it does not take, instead of dropping them: a
partner that sends ``owner`` or a misspelt ``min_orders`` hears of it."""

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from common.serializers import RejectUnknownFieldsMixin
from tests import factories as f

WRITES = {"POST", "PUT", "PATCH"}


def _write_serializers() -> list[tuple[str, str, Any]]:
    generator = SchemaGenerator()
    found = []
    generator._initialise_endpoints()
    for path, _regex, method, view in generator._get_paths_and_endpoints():
        if method not in WRITES:
            continue
        found.append((path, method, view.schema.get_request_serializer()))
    return found


def _class_of(serializer: Any) -> type:
    return serializer if isinstance(serializer, type) else type(serializer)


def test_every_write_takes_a_serializer_that_refuses_unknown_fields() -> None:
    writes = _write_serializers()
    assert len(writes) > 20
    lenient = [
        f"{method} {path}: {_class_of(serializer).__name__ if serializer else None}"
        for path, method, serializer in writes
        if serializer is not None
        and not issubclass(_class_of(serializer), RejectUnknownFieldsMixin)
    ]
    assert lenient == []


@pytest.mark.django_db
def test_a_step_without_input_refuses_a_body(api_client: Any) -> None:
    listing = f.ListingFactory.create(status="draft")
    admin = f.MembershipFactory.create(enterprise=listing.seller, role="enterprise_admin").user
    client = api_client(admin)
    url = f"/api/v1/listings/{listing.pk}/withdraw/"
    refused = client.post(url, {"price_per_t": "1"}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"price_per_t"}
    listing.refresh_from_db()
    assert listing.status == "draft"
    assert client.post(url, {}, format="json").status_code == 200
