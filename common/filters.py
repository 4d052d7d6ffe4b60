"""The FilterSet base of every list endpoint."""

import copy
from typing import Any, ClassVar

import django_filters
from django.http import QueryDict
from django_filters.filters import QuerySetRequestMixin


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, lighter per request.

    django-filter deep-copies every declared filter and builds a new form class, with a new
    form field per filter, on every request: most of a list request's filtering time. Here
    each filter is copied shallowly (a filter's own state is its attributes; ``method``
    filters are re-bound to the copy) and the form class is built once per FilterSet class,
    unless a filter's field depends on the request (queryset-backed choices)."""

    _form_classes: ClassVar[dict[type, type]] = {}

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
