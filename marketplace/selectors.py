"""Reads of the marketplace, every one scoped to the caller (see access.scope)."""

from django.db.models import Prefetch, Q, QuerySet

from access.scope import Scope
from inventory.models import Material
from marketplace.models import Listing, ListingStatus, Need, NeedStatus, Visibility
from parks.models import Enterprise


def listing_visibility_q(*, scope: Scope) -> Q:
    """Published listings of other enterprises that the caller's park and region may see."""
    assert scope.enterprise is not None
    park = scope.enterprise.park
    # Sellers as subqueries of the small enterprise table, not joins: counting and paging
    # the visible listings then need no join of enterprises and parks per listing row.
    same_park = Enterprise.objects.filter(park_id=park.pk).values("pk")
    same_region = Enterprise.objects.filter(park__region_code=park.region_code).values("pk")
    return Q(status=ListingStatus.PUBLISHED) & (
        Q(visibility=Visibility.ALL)
        | Q(visibility=Visibility.PARK, seller_id__in=same_park)
        | Q(visibility=Visibility.REGION, seller_id__in=same_region)
    )


def listing_list(*, scope: Scope) -> QuerySet[Listing]:
    """Own listings in every status, and the published ones visible to the caller.

    Park operators and regulators see the listings of enterprises in their parks.
    """
    qs = Listing.objects.select_related("seller__park", "material", "lot__zone__warehouse")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(Q(seller_id=scope.enterprise.pk) | listing_visibility_q(scope=scope))
    return qs.filter(seller__park_id__in=scope.park_ids)


def listing_list_own(*, scope: Scope) -> QuerySet[Listing]:
    """Listings the caller may change."""
    qs = Listing.objects.select_related("seller", "lot", "material")
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(seller_id=scope.enterprise.pk)
    return qs.none()


def need_list(*, scope: Scope) -> QuerySet[Need]:
    """Needs are private: an enterprise sees its own; operators and regulators their parks'."""
    qs = Need.objects.select_related(
        "enterprise__park", "material", "delivery_zone__warehouse"
    ).prefetch_related(Prefetch("substitutes", queryset=Material.objects.only("id")))
    if scope.is_superuser:
        return qs
    if scope.enterprise is not None:
        return qs.filter(enterprise_id=scope.enterprise.pk)
    return qs.filter(enterprise__park_id__in=scope.park_ids)


def needed_materials(*, enterprise_id: int | None = None, park_id: int | None = None) -> list[int]:
    """The materials the open needs of an enterprise, or of a park's enterprises, ask for,
    substitutes included."""
    needs = Need.objects.filter(status=NeedStatus.OPEN)
    if enterprise_id is not None:
        needs = needs.filter(enterprise_id=enterprise_id)
    if park_id is not None:
        needs = needs.filter(enterprise__park_id=park_id)
    wanted = set(needs.values_list("material_id", flat=True))
    wanted |= set(
        Need.substitutes.through.objects.filter(need__in=needs).values_list(
            "material_id", flat=True
        )
    )
    return sorted(wanted)
