"""Helpers of the tests that the services run the models' own validators (tests/*/
test_validation.py): a refusal names the field and writes nothing."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Model

from audit.models import AuditEntry
from common.models import OutboxEvent


def row_counts(*models: type[Model]) -> dict[str, int]:
    """How many rows ``models``, the audit trail and the outbox hold."""
    counted: tuple[type[Model], ...] = (*models, AuditEntry, OutboxEvent)
    return {model._meta.label: model._default_manager.count() for model in counted}


@contextmanager
def refused_on(field: str, *models: type[Model]) -> Iterator[pytest.ExceptionInfo[Any]]:
    """Expect a ValidationError naming ``field``, and no new or deleted row of ``models``,
    of the audit trail or of the outbox."""
    before = row_counts(*models)
    with pytest.raises(ValidationError) as info:
        yield info
    assert field in info.value.message_dict, info.value.message_dict
    assert row_counts(*models) == before


def stored(obj: Model) -> dict[str, Any]:
    """The stored column values of ``obj``, to show that a refusal changed nothing."""
    return type(obj)._default_manager.filter(pk=obj.pk).values().get()
