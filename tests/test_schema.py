"""The OpenAPI schema builds without a warning: a new field or choice set that drf-spectacular
cannot name or type fails here, not first in the deploy checks."""

from pathlib import Path

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_schema_builds_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    text = target.read_text(encoding="utf-8")
    assert "/api/v1/permits/" in text
    assert "PermitKindEnum" in text and "RunKindEnum" in text
