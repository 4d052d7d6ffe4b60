"""factory_boy factories. Lots with stock are made through the receipt service (see the
``receive`` fixture) so that the ledger always matches; LotFactory makes empty lots."""

from datetime import date
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model

from access.models import Membership, ParkRole
from common.identifiers import cas_check_digit, uscc_check_char
from inventory.models import Material, StockLot, StorageZone, Warehouse
from marketplace.models import Listing, Need
from matching.models import Match, MatchRun
from orders.models import Order
from parks.models import Enterprise, Park


def make_uscc(n: int, division: str = "330200") -> str:
    body = f"91{division}MA{n:07d}"
    return body + uscc_check_char(body)


def make_cas(n: int) -> str:
    body = f"{1000 + n}-{n % 100:02d}"
    return f"{body}-{cas_check_digit(body)}"


class UserFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-1")


class ParkFactory(factory.django.DjangoModelFactory[Park]):
    class Meta:
        model = Park

    code = factory.Sequence(lambda n: f"park-{n}")
    name_zh = factory.Sequence(lambda n: f"化工园区{n}")
    name_en = factory.Sequence(lambda n: f"Chemical Park {n}")
    division_code = "330211"
    latitude = Decimal("29.960000")
    longitude = Decimal("121.700000")
    area_mu = Decimal("10000")


class EnterpriseFactory(factory.django.DjangoModelFactory[Enterprise]):
    class Meta:
        model = Enterprise

    uscc = factory.Sequence(make_uscc)
    park = factory.SubFactory(ParkFactory)
    name_zh = factory.Sequence(lambda n: f"企业{n}")
    name_en = factory.Sequence(lambda n: f"Enterprise {n}")
    latitude = factory.SelfAttribute("park.latitude")
    longitude = factory.SelfAttribute("park.longitude")
    industry = "petrochemicals"


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    enterprise = factory.SubFactory(EnterpriseFactory)
    role = "enterprise_admin"


class ParkRoleFactory(factory.django.DjangoModelFactory[ParkRole]):
    class Meta:
        model = ParkRole

    user = factory.SubFactory(UserFactory)
    park = factory.SubFactory(ParkFactory)
    role = "regulator"


class MaterialFactory(factory.django.DjangoModelFactory[Material]):
    class Meta:
        model = Material

    name_zh = factory.Sequence(lambda n: f"物料{n}")
    name_en = factory.Sequence(lambda n: f"Material {n}")
    cas = factory.Sequence(make_cas)
    un_number = ""
    primary_class = ""
    physical_state = "liquid"
    density_kg_per_l = Decimal("0.8")


class WarehouseFactory(factory.django.DjangoModelFactory[Warehouse]):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"wh-{n}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    owner = factory.SubFactory(EnterpriseFactory)
    park = factory.LazyAttribute(lambda o: o.owner.park if o.owner else ParkFactory())
    latitude = Decimal("29.960000")
    longitude = Decimal("121.700000")


class StorageZoneFactory(factory.django.DjangoModelFactory[StorageZone]):
    class Meta:
        model = StorageZone

    warehouse = factory.SubFactory(WarehouseFactory)
    code = factory.Sequence(lambda n: f"Z{n}")
    capacity_kg = Decimal("1000000")
    allowed_classes = factory.LazyFunction(
        lambda: ["2.1", "2.2", "2.3", "3", "4.1", "4.2", "4.3", "5.1", "5.2", "6.1", "8", "9"]
    )


class LotFactory(factory.django.DjangoModelFactory[StockLot]):
    """An empty lot (no ledger rows needed). Use the ``receive`` fixture for stock."""

    class Meta:
        model = StockLot

    material = factory.SubFactory(MaterialFactory)
    zone = factory.SubFactory(StorageZoneFactory)
    owner = factory.LazyAttribute(lambda o: o.zone.warehouse.owner)


class ListingFactory(factory.django.DjangoModelFactory[Listing]):
    class Meta:
        model = Listing

    lot = factory.SubFactory(LotFactory)
    seller = factory.LazyAttribute(lambda o: o.lot.owner)
    material = factory.LazyAttribute(lambda o: o.lot.material)
    quantity_kg = Decimal("100")
    price_per_t = Decimal("3000")
    available_from = date(2026, 1, 1)
    visibility = "park"
    status = "draft"


class NeedFactory(factory.django.DjangoModelFactory[Need]):
    class Meta:
        model = Need

    enterprise = factory.SubFactory(EnterpriseFactory)
    material = factory.SubFactory(MaterialFactory)
    quantity_kg = Decimal("500")
    needed_by = date(2027, 6, 30)
    delivery_latitude = Decimal("29.950000")
    delivery_longitude = Decimal("121.710000")


class MatchRunFactory(factory.django.DjangoModelFactory[MatchRun]):
    class Meta:
        model = MatchRun

    kind = "materials"
    trigger = "command"
    status = "done"
    material_ids = factory.LazyFunction(list)
    components = 1
    listings = 1
    needs = 1
    arcs = 1
    matched_kg = Decimal("50")
    cost_yuan = Decimal("156.00")
    relaxed_matched_kg = Decimal("50")
    relaxed_cost_yuan = Decimal("156.00")


class MatchFactory(factory.django.DjangoModelFactory[Match]):
    """A proposal written directly (as the engine would): the seller, buyer and material are
    the listing's and the need's. The default listing's lot is empty; give a listing on a
    stocked lot (the ``receive`` fixture) to accept it."""

    class Meta:
        model = Match

    listing = factory.SubFactory(ListingFactory, status="published")
    need = factory.SubFactory(NeedFactory, material=factory.SelfAttribute("..listing.material"))
    seller = factory.LazyAttribute(lambda o: o.listing.seller)
    buyer = factory.LazyAttribute(lambda o: o.need.enterprise)
    material = factory.LazyAttribute(lambda o: o.listing.material)
    delivery_zone = factory.LazyAttribute(lambda o: o.need.delivery_zone)
    status = "proposed"
    quantity_kg = Decimal("50")
    price_per_t = factory.LazyAttribute(lambda o: o.listing.price_per_t)
    transport_per_t = Decimal("120.00")
    distance_km = Decimal("12.500")
    total_yuan = factory.LazyAttribute(
        lambda o: ((o.price_per_t + o.transport_per_t) * o.quantity_kg / 1000).quantize(
            Decimal("0.01")
        )
    )
    explanation = "Same material, 12.5 km away, within the buyer's price."
    explanation_zh = "同一物料，距离 12.5 公里，价格在买方上限以内。"
    inputs_hash = factory.Sequence(lambda n: f"{n:064x}")


class OrderFactory(factory.django.DjangoModelFactory[Order]):
    """An order row written directly, in the status asked for, without its reservation or
    the listing's ``ordered_kg`` (rows to read, list or refuse). Orders that go through
    their steps are made by ``orders.services`` (``order_place``, ``order_from_match``)."""

    class Meta:
        model = Order

    listing = factory.SubFactory(ListingFactory, status="published")
    seller = factory.LazyAttribute(lambda o: o.listing.seller)
    buyer = factory.SubFactory(EnterpriseFactory)
    material = factory.LazyAttribute(lambda o: o.listing.material)
    lot = factory.LazyAttribute(lambda o: o.listing.lot)
    status = "reserved"
    quantity_kg = Decimal("10")
    price_per_t = factory.LazyAttribute(lambda o: o.listing.price_per_t)
    transport_per_t = Decimal("0")
    total_yuan = factory.LazyAttribute(
        lambda o: ((o.price_per_t + o.transport_per_t) * o.quantity_kg / 1000).quantize(
            Decimal("0.01")
        )
    )
