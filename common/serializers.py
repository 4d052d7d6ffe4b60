"""Serializer building blocks shared by every app."""

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject, PrimaryKeyRelatedField
from rest_framework.settings import api_settings


class RejectUnknownFieldsMixin:
    """Input that names a field the serializer does not take (unknown or read-only) is a 400
    on that field. DRF would drop it silently, and a client that sends ``uscc`` or ``owner``
    would believe it had changed it."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            refused = [key for key in data if key not in writable]
            if refused:
                raise serializers.ValidationError(
                    {str(key): ["This field may not be set here."] for key in refused}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class NoInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer[Any]):
    """A step that takes no input: a body, if any, must be empty (``{}``)."""


def _path_getter(attrs: list[str]) -> Callable[[Any], Any]:
    """``a.b.c`` of an object; None as soon as a link is None (as DRF's ``get_attribute``)."""
    if len(attrs) == 1:
        return operator.attrgetter(attrs[0])

    def get(obj: Any) -> Any:
        for attr in attrs:
            if obj is None:
                return None
            obj = getattr(obj, attr)
        return obj

    return get


def iso_format(field: serializers.Field[Any, Any, Any, Any], default: str | None) -> bool:
    output_format = getattr(field, "format", default)
    return isinstance(output_format, str) and output_format.lower() == ISO_8601


def _fast_format(field: serializers.Field[Any, Any, Any, Any]) -> Callable[[Any], Any] | None:
    """A formatter equal to ``field.to_representation`` for the values a model gives, or None
    when the field needs DRF's own path."""
    if type(field) in (serializers.IntegerField, serializers.CharField):
        return int if isinstance(field, serializers.IntegerField) else str
    if type(field) is serializers.BooleanField:
        return bool  # a model's bool; DRF's own path maps "true"/1 etc., which a column never is
    big_integer = getattr(serializers, "BigIntegerField", None)
    if big_integer is not None and type(field) is big_integer:
        as_text = getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING)
        return None if as_text else int
    if type(field) is serializers.ChoiceField:
        labels = field.choice_strings_to_values

        def choice(value: Any) -> Any:
            return labels.get(str(value), value)

        # Text choices stored as their own labels' keys render as themselves.
        choice.identity = all(key == value for key, value in labels.items())  # type: ignore[attr-defined]
        return choice
    if type(field) is serializers.DateField and iso_format(field, api_settings.DATE_FORMAT):
        return operator.methodcaller("isoformat")
    if type(field) is serializers.DateTimeField and iso_format(field, api_settings.DATETIME_FORMAT):
        datetime_field = field
        zone: Any = field.timezone if hasattr(field, "timezone") else field.default_timezone()
        if zone is None:
            return None

        def datetime_text(value: Any) -> Any:
            if isinstance(value, datetime) and value.utcoffset() is not None:
                text = value.astimezone(zone).isoformat()
                return text[:-6] + "Z" if text.endswith("+00:00") else text
            return datetime_field.to_representation(value)

        return datetime_text
    if type(field) is serializers.DecimalField:
        decimal_field = field
        as_string = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
        if (
            not as_string
            or field.localize
            or field.normalize_output
            or field.decimal_places is None
        ):
            return None
        exponent = -field.decimal_places

        def decimal_text(value: Any) -> Any:
            if isinstance(value, Decimal) and value.as_tuple().exponent == exponent:
                return f"{value:f}"
            return decimal_field.to_representation(value)

        return decimal_text
    return None


def _is_single_pk(field: Any) -> bool:
    """A read-only foreign key rendered as its id: in ``.values()`` its column is the id."""
    return (
        type(field) is PrimaryKeyRelatedField
        and field.read_only
        and field.pk_field is None
        and field.source != "*"
    )


class FlatReadSerializer(serializers.ModelSerializer):
    """A read-only ModelSerializer whose rows are rendered by a plan made once per
    serializer: one getter and one formatter per field. The output is exactly DRF's (tests
    compare them); only DRF's per-field dispatch is saved, most of the cost of a page.

    When every field is a plain column or a dotted path to one, the serializer also renders
    the dicts of ``QuerySet.values(*serializer.value_columns)``: list views then skip
    building model instances altogether (``access.api.ScopedViewSetMixin.list``). A field
    read from a model property names the database expression that computes it in
    ``value_expressions``.
    """

    value_expressions: dict[str, Any] = {}

    @cached_property
    def flat_plan(self) -> list[tuple[str, Callable[[Any], Any], Any, Any, str | None]]:
        """(name, getter, fast formatter or None, field for DRF's own path, values column)."""
        plan: list[tuple[str, Callable[[Any], Any], Any, Any, str | None]] = []
        for field in self._readable_fields:
            name, fmt = str(field.field_name), _fast_format(field)
            if fmt is not None and field.source != "*":
                column = "__".join(field.source_attrs)
                plan.append((name, _path_getter(field.source_attrs), fmt, None, column))
            elif _is_single_pk(field):
                plan.append((name, field.get_attribute, None, field, "__".join(field.source_attrs)))
            else:
                plan.append((name, field.get_attribute, None, field, None))
        return plan

    @cached_property
    def dict_plan(self) -> tuple[tuple[str, ...], Callable[[Any], Any], list[tuple[str, Any]]]:
        """How to render a ``.values()`` row: the output names, one getter of every column
        (a tuple, in order), and the few fields whose value needs formatting. The database
        already gives ints and strs for integer, char and text-choice columns."""
        plan = [
            (name, column, fmt)
            for name, _get, fmt, _field, column in self.flat_plan
            if column is not None
        ]
        names = tuple(name for name, _column, _fmt in plan)
        getter = operator.itemgetter(*(column for _name, column, _fmt in plan))
        formatted = [
            (name, fmt)
            for name, _column, fmt in plan
            if fmt is not None and fmt not in (int, str) and not getattr(fmt, "identity", False)
        ]
        return names, getter, formatted

    @cached_property
    def value_columns(self) -> list[str] | None:
        """The ``.values()`` columns that render every field, or None if some field needs
        a model instance."""
        columns = [column for *_, column in self.flat_plan if column is not None]
        return columns if len(columns) == len(self.flat_plan) else None

    def to_representation(self, instance: Any) -> dict[str, Any]:
        row: dict[str, Any] = {}
        if isinstance(instance, dict):
            names, getter, formatted = self.dict_plan
            values = getter(instance)
            row = dict(zip(names, values if len(names) > 1 else (values,), strict=True))
            for name, fmt in formatted:
                value = row[name]
                if value is not None:
                    row[name] = fmt(value)
            return row
        for name, get, fmt, field, _column in self.flat_plan:
            if fmt is not None:
                value = get(instance)
                row[name] = None if value is None else fmt(value)
                continue
            try:
                value = get(instance)
            except SkipField:
                continue
            check = value.pk if isinstance(value, PKOnlyObject) else value
            row[name] = None if check is None else field.to_representation(value)
        return row
