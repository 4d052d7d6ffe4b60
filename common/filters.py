"""The FilterSet base of every list endpoint."""

from typing import Any, ClassVar

import django_filters
from django_filters.filters import QuerySetRequestMixin


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet with its form class built once per FilterSet class.

    django-filter builds a new form class, with a new form field per filter, on every
    request: about half of a list request's filtering time. The class is reused only when
    no filter's field depends on the request (no queryset-backed choices, whose choices
    would be the first caller's)."""

    _form_classes: ClassVar[dict[type, type]] = {}

    def get_form_class(self) -> Any:
        cls = type(self)
        form_class = FilterSet._form_classes.get(cls)
        if form_class is None:
            form_class = super().get_form_class()
            if not any(isinstance(f, QuerySetRequestMixin) for f in self.filters.values()):
                FilterSet._form_classes[cls] = form_class
        return form_class
