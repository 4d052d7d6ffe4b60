"""The models' own validators, run by the services on what they write.

Serializers and admin forms run a model's field validators (CAS and USCC check characters,
UN numbers, ranges, lengths, choices, decimal places) before a service is called; a
command, a task or the demo seed calls the service directly. The services therefore run the
same validators themselves, through these two functions, on the columns they write:

* ``validate_row(obj, fields)`` on a row built or changed in Python, before it is saved;
* ``validate_values(Model, column=value, ...)`` on the values of a queryset ``update()``
  (or an ``update_or_create``), where there is no instance to clean.

Both raise django's ``ValidationError`` keyed by the model's field names: the API's
exception handler answers it as a 400 naming the field (``common.errors``), the admin shows
it on the form (``access.admin``, through ``as_refusal``). Neither runs a query: relations
are left to the database's foreign keys, and uniqueness and check constraints to the
database (the services catch a taken unique key with ``common.services.save_unique``), so
validation costs the hot paths (stock moves, reservations, order steps) a few microseconds
per row and nothing more.
"""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Field, Model
from django.db.models.expressions import DatabaseDefault

from common.exceptions import DomainError


def _checked(field: "Field[Any, Any]") -> bool:
    # Relations would be checked with a query (ForeignKey.validate); generated columns are
    # the database's.
    return not field.is_relation and not field.generated and not field.primary_key


def validate_row(obj: Model, fields: Iterable[str] | None = None) -> None:
    """Run ``obj``'s field validators on ``fields`` (every column but relations, when None),
    then its ``clean()``: ``Model.full_clean`` without the unique and constraint checks,
    which would query. Values are converted in place as ``full_clean`` does (a number given
    as text becomes a Decimal). Raises ValidationError naming each field refused."""
    wanted = None if fields is None else set(fields)
    exclude = {
        f.name
        for f in obj._meta.fields
        if not _checked(f) or (wanted is not None and f.name not in wanted)
    }
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def validate_values(model: type[Model], **values: Any) -> dict[str, Any]:
    """Run the field validators of ``model`` on column values about to be written without
    an instance (a queryset ``update()``); returns them converted. Empty values of a field
    that may be blank pass, as in ``Model.clean_fields``. Raises ValidationError naming
    each field refused."""
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        field = model._meta.get_field(name)
        assert isinstance(field, Field)
        if (
            not _checked(field)
            or isinstance(value, DatabaseDefault)
            or hasattr(value, "resolve_expression")  # F("x") + 1: computed by the database
            or (field.blank and value in field.empty_values)
        ):
            cleaned[name] = value
            continue
        try:
            cleaned[name] = field.clean(value, None)
        except ValidationError as exc:
            errors[name] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return cleaned


def as_refusal(exc: ValidationError) -> DomainError:
    """``exc``'s first field and message as a DomainError, for a caller that shows one
    refusal (the admin's forms and actions): ``non_field_errors`` when it names no field."""
    if hasattr(exc, "error_dict"):
        field, messages = next(iter(exc.message_dict.items()))
        return DomainError(messages[0], field=field)
    return DomainError(exc.messages[0] if exc.messages else str(exc))
