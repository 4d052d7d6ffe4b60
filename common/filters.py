"""The FilterSet base of every list endpoint, and the bounded search of every list.

Numbers in a query string are bounded before they reach the database (docs/architecture.md,
"API edge"): an id filter takes whole numbers within the database's keys (1 to 2**63 - 1),
a list of ids at most ``MAX_IDS_PER_FILTER`` of them, a number filter finite values within
its column's range with at most ``MAX_FILTER_DECIMAL_PLACES`` decimals. Anything else is a
400 naming the query parameter, never the OverflowError SQLite raises for an integer beyond
64 bits. An empty value (``?material=``) is no filter, as django-filter has it.
"""

import copy
from decimal import Decimal
from typing import Any, ClassVar

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django_filters.fields import BaseCSVField
from django_filters.filters import QuerySetRequestMixin
from django_filters.utils import get_model_field
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters as drf_filters
from rest_framework.exceptions import ValidationError as DRFValidationError

MAX_ID = 2**63 - 1  # the largest key a bigint column holds
MAX_IDS = 100  # ids in one list of ids, in a body (``common.api.IdField``) or a query string
MAX_IDS_PER_FILTER = MAX_IDS  # ids in one comma-separated filter (``?material=3,7``)
# A number filter on a column that is no model field (an annotation): a magnitude no
# quantity or price reaches (10 million tonnes is 10**10 kg).
MAX_NUMBER = Decimal(10) ** 15
# Decimal places a number filter takes: finer than any column, and 1e-20000 (beyond what a
# PostgreSQL numeric holds) is refused before it reaches the database.
MAX_FILTER_DECIMAL_PLACES = 12
MAX_SEARCH_TERMS = 8
MAX_SEARCH_LENGTH = 200


def _whole_key(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise ValidationError(
            _("Enter an id: a whole number from 1 to %(max)s.") % {"max": MAX_ID}, code="invalid"
        )
    return int(text)


class IdFormField(forms.IntegerField):
    """A key in a query string: digits only, from 1 to the largest bigint."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        return _whole_key(value)


class BoundedCSVField(BaseCSVField):
    """Comma-separated values, at most ``MAX_IDS_PER_FILTER`` of them."""

    def clean(self, value: Any) -> Any:
        if value is not None and len(value) > MAX_IDS_PER_FILTER:
            raise ValidationError(
                _("At most %(max)s values.") % {"max": MAX_IDS_PER_FILTER}, code="max_length"
            )
        return super().clean(value)


class BoundedModelChoiceField(django_filters.fields.ModelChoiceField):
    """A key of the choices' model, checked to be a key before it is looked up."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and _has_integer_key(self.queryset.model):
            _whole_key(value)
        return super().to_python(value)


class BoundedModelMultipleChoiceField(django_filters.fields.ModelMultipleChoiceField):
    def clean(self, value: Any) -> Any:
        if value and not isinstance(value, str | bytes):
            if len(value) > MAX_IDS_PER_FILTER:
                raise ValidationError(
                    _("At most %(max)s values.") % {"max": MAX_IDS_PER_FILTER},
                    code="max_length",
                )
            if _has_integer_key(self.queryset.model):
                for item in value:
                    _whole_key(item)
        return super().clean(value)


def _has_integer_key(model: type[models.Model]) -> bool:
    return isinstance(model._meta.pk, models.IntegerField | models.AutoField)


def _is_key(model: type[models.Model] | None, filter_: django_filters.Filter) -> bool:
    """Does the filter compare a key: a relation, a primary key, or a name ending in id?"""
    if isinstance(filter_, IdFilter | IdInFilter):
        return True
    name = filter_.field_name or ""
    if model is not None and name:
        try:
            field = get_model_field(model, name)
        except Exception:  # an annotation's name, not a model path
            field = None
        if field is not None:
            return bool(field.is_relation or field.primary_key)
    return name == "id" or name.endswith("_id")


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """One id (``?lot=7``); for ``method`` filters, whose field name is no model path."""


@extend_schema_field(OpenApiTypes.INT)
class IdInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    """Comma-separated ids: ``?material=3,7``."""


def _number_bound(model: type[models.Model] | None, filter_: django_filters.Filter) -> Decimal:
    """The largest magnitude the filter's column holds, or ``MAX_NUMBER`` for annotations."""
    field = None
    if model is not None and filter_.field_name:
        try:
            field = get_model_field(model, filter_.field_name)
        except Exception:
            field = None
    if isinstance(field, models.DecimalField) and field.max_digits is not None:
        return Decimal(10) ** (field.max_digits - (field.decimal_places or 0))
    if isinstance(field, models.IntegerField | models.FloatField):
        return Decimal(MAX_ID)
    return MAX_NUMBER


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no, on/off); anything else is an error on the parameter,
    where django-filter's boolean field would quietly ignore the filter."""

    widget = forms.TextInput
    TRUE = frozenset({"true", "1", "yes", "on"})
    FALSE = frozenset({"false", "0", "no", "off"})

    def to_python(self, value: Any) -> bool | None:
        if value is None or value == "":
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")


def bound_filter(model: type[models.Model] | None, filter_: django_filters.Filter) -> None:
    """Bound a numeric filter in place (idempotent): keys to the database's range and lists
    to ``MAX_IDS_PER_FILTER`` values, numbers to their column's range."""
    if getattr(filter_, "_bounded", False):
        return
    filter_._bounded = True
    if isinstance(filter_, django_filters.BooleanFilter):
        filter_.field_class = StrictBooleanField
    elif isinstance(filter_, django_filters.ModelMultipleChoiceFilter):
        filter_.field_class = BoundedModelMultipleChoiceField
    elif isinstance(filter_, django_filters.ModelChoiceFilter):
        filter_.field_class = BoundedModelChoiceField
    elif isinstance(filter_, django_filters.NumberFilter):
        csv = isinstance(filter_, django_filters.filters.BaseCSVFilter)
        if _is_key(model, filter_):
            field_class: type[forms.Field] = IdFormField
            for key in ("min_value", "max_value", "max_digits", "decimal_places"):
                filter_.extra.pop(key, None)
        else:
            field_class = forms.DecimalField
            bound = _number_bound(model, filter_)
            filter_.extra.setdefault("min_value", -bound)
            filter_.extra.setdefault("max_value", bound)
            filter_.extra.setdefault("decimal_places", MAX_FILTER_DECIMAL_PLACES)
        if csv:
            filter_.field_class = type(
                f"Bounded{field_class.__name__}List", (BoundedCSVField, field_class), {}
            )
        else:
            filter_.field_class = field_class


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, lighter per request.

    django-filter deep-copies every declared filter and builds a new form class, with a new
    form field per filter, on every request: most of a list request's filtering time. Here
    each filter is copied shallowly (a filter's own state is its attributes; ``method``
    filters are re-bound to the copy) and the form class is built once per FilterSet class,
    unless a filter's field depends on the request (queryset-backed choices)."""

    _form_classes: ClassVar[dict[type, type]] = {}

    @classmethod
    def get_filters(cls) -> Any:
        filters = super().get_filters()
        model = cls._meta.model
        for filter_ in filters.values():
            bound_filter(model, filter_)
        return filters

    def __init__(
        self,
        data: Any = None,
        queryset: Any = None,
        *,
        request: Any = None,
        prefix: str | None = None,
    ) -> None:
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {}
        for name, declared in self.base_filters.items():
            filter_ = copy.copy(declared)
            if declared.method is not None:
                filter_.method = declared.method  # a FilterMethod bound to the copy
            filter_.model = queryset.model
            filter_.parent = self
            self.filters[name] = filter_

    def get_form_class(self) -> Any:
        cls = type(self)
        form_class = FilterSet._form_classes.get(cls)
        if form_class is None:
            form_class = super().get_form_class()
            if not any(isinstance(f, QuerySetRequestMixin) for f in self.filters.values()):
                FilterSet._form_classes[cls] = form_class
        return form_class


class SearchFilter(drf_filters.SearchFilter):
    """DRF's ``?search=``, bounded: every term is one more OR over the search fields in the
    SQL, so at most ``MAX_SEARCH_TERMS`` terms and ``MAX_SEARCH_LENGTH`` characters; more is
    a 400 naming ``search``."""

    def get_search_terms(self, request: Any) -> list[str]:
        raw = request.query_params.get(self.search_param, "")
        if len(raw) > MAX_SEARCH_LENGTH:
            raise DRFValidationError(
                {self.search_param: [_("At most %(max)s characters.") % {"max": MAX_SEARCH_LENGTH}]}
            )
        terms = super().get_search_terms(request)
        if len(terms) > MAX_SEARCH_TERMS:
            raise DRFValidationError(
                {self.search_param: [_("At most %(max)s terms.") % {"max": MAX_SEARCH_TERMS}]}
            )
        return list(terms)
