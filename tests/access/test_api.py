"""The scoped API base cannot be read around: a viewset that defines get_queryset or
get_object fails when its class is created."""

from typing import Any

import pytest
from rest_framework import viewsets

from access.api import ScopedModelViewSet, ScopedReadOnlyViewSet, ScopedViewSetMixin
from config.api_urls import router


@pytest.mark.parametrize("method", ["get_queryset", "get_object"])
@pytest.mark.parametrize("base", [ScopedModelViewSet, ScopedReadOnlyViewSet])
def test_a_subclass_defining_a_sealed_method_fails_at_class_creation(
    base: type, method: str
) -> None:
    with pytest.raises(TypeError, match=method):
        type("Unscoped", (base,), {method: lambda self: None})


def test_a_mixin_put_before_the_base_cannot_bypass_it_either() -> None:
    class Everything:
        def get_queryset(self) -> Any:
            return None

    with pytest.raises(TypeError, match="get_queryset"):

        class Unscoped(Everything, ScopedModelViewSet):  # type: ignore[misc]
            pass


def test_a_subclass_saying_how_through_scoped_queryset_is_fine() -> None:
    class Fine(ScopedReadOnlyViewSet):
        def scoped_queryset(self, scope: Any) -> Any:
            return None

    assert Fine.get_queryset is ScopedViewSetMixin.get_queryset


def test_every_routed_viewset_is_scoped() -> None:
    for prefix, viewset, _basename in router.registry:
        if issubclass(viewset, viewsets.GenericViewSet):
            assert issubclass(viewset, ScopedViewSetMixin), prefix
