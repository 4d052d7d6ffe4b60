"""The sentence a trader reads on a proposal, in English and in Chinese.

Both are written when the proposal is, from the figures stored beside them, so the API and
the admin show the same words whichever language the reader uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from matching.feasibility import RULES

RULE_NAMES_EN = {
    "same_material_or_substitute": "material",
    "purity_meets_need": "purity",
    "lot_not_expired": "lot not expired",
    "need_date_not_passed": "need date",
    "not_expired_before_need": "shelf life",
    "available_by_need_date": "availability",
    "price_within_limit": "price limit",
    "distance_within_limit": "distance limit",
    "visible_to_buyer": "visibility",
    "different_enterprises": "different enterprises",
    "buyer_permitted": "buyer's permit for controlled chemicals",
    "admitted_at_delivery": "admission to the delivery zone",
}
RULE_NAMES_ZH = {
    "same_material_or_substitute": "物料",
    "purity_meets_need": "纯度",
    "lot_not_expired": "批次未过期",
    "need_date_not_passed": "需求日期",
    "not_expired_before_need": "有效期",
    "available_by_need_date": "供货期",
    "price_within_limit": "限价",
    "distance_within_limit": "距离",
    "visible_to_buyer": "可见范围",
    "different_enterprises": "不同企业",
    "buyer_permitted": "管制类化学品许可",
    "admitted_at_delivery": "收货库区准入",
}
assert set(RULE_NAMES_EN) == {r.__name__ for r in RULES} == set(RULE_NAMES_ZH)
_CHECKS_EN = ", ".join(RULE_NAMES_EN[r.__name__] for r in RULES)
_CHECKS_ZH = "、".join(RULE_NAMES_ZH[r.__name__] for r in RULES)


@dataclass(frozen=True, kw_only=True, slots=True)
class Facts:
    """What a proposal states, in the engine's integers (grams, fen, metres)."""

    listing_id: int
    need_id: int
    seller_en: str
    seller_zh: str
    buyer_en: str
    buyer_zh: str
    material_en: str
    material_zh: str
    cas: str
    substitute_for_en: str = ""  # the needed material when the listing offers a substitute
    substitute_for_zh: str = ""
    grams: int
    need_free_grams: int
    price_fen: int  # per tonne
    transport_fen: int  # per tonne
    rate_fen: int  # per tonne-kilometre
    metres: int
    total_fen: int
    rank: int  # 1 = the cheapest delivered of the need's feasible listings
    feasible: int  # feasible listings for the need
    delivery_zone: str = ""  # the zone admission was checked at; "" for a delivery point


# Integer formatting: a proposal's text is written for every new proposal of a full
# rematch, and Decimal formatting would be most of the cost of writing it.
def _t(grams: int) -> str:
    """Tonnes to the kilogram."""
    kg = (grams + 500) // 1000
    return f"{kg // 1000:,}.{kg % 1000:03d}"


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def _km(metres: int) -> str:
    tenths = (metres + 50) // 100
    return f"{tenths // 10:,}.{tenths % 10}"


def explain_en(f: Facts) -> str:
    cas = f" (CAS {f.cas})" if f.cas else ""
    sub = f", an accepted substitute for {f.substitute_for_en}" if f.substitute_for_en else ""
    share = (
        "all of the quantity still open"
        if f.grams >= f.need_free_grams
        else f"{_t(f.grams)} of the {_t(f.need_free_grams)} t still open"
    )
    if f.feasible == 1:
        standing = "It is the only listing that qualifies."
    elif f.rank == 1:
        standing = f"It is the cheapest delivered of the {f.feasible} listings that qualify."
    else:
        standing = (
            f"It ranks {f.rank} of {f.feasible} qualifying listings by delivered cost: the "
            "cheaper ones are allotted where they match more quantity or save more in total."
        )
    return (
        f"{_t(f.grams)} t of {f.material_en}{cas}{sub} from listing #{f.listing_id} "
        f"({f.seller_en or f.seller_zh}) for need #{f.need_id} ({f.buyer_en or f.buyer_zh}), "
        f"covering {share}. Delivered cost {_yuan(f.price_fen + f.transport_fen)} CNY/t = "
        f"price {_yuan(f.price_fen)} + transport {_yuan(f.transport_fen)} "
        f"({_yuan(f.rate_fen)} CNY/t·km × {_km(f.metres)} km); total {_yuan(f.total_fen)} CNY. "
        f"Passes every check ({_CHECKS_EN}){_admission_en(f)}. {standing}"
    )


def _admission_en(f: Facts) -> str:
    if f.delivery_zone:
        return f"; admitted into zone {f.delivery_zone} (licence, room, segregation)"
    return (
        "; delivered to a point, not a zone, so the zone's licence, room and segregation "
        "are checked when the goods are received"
    )


def _admission_zh(f: Facts) -> str:
    if f.delivery_zone:
        return f"；可存入库区 {f.delivery_zone}（许可、容量、隔离）"
    return "；送货至地点而非库区，库区许可、容量与隔离在收货时校验"


def explain_zh(f: Facts) -> str:
    cas = f"（CAS {f.cas}）" if f.cas else ""
    sub = f"，为{f.substitute_for_zh}的可接受替代品" if f.substitute_for_zh else ""
    share = (
        "满足其全部未满足数量"
        if f.grams >= f.need_free_grams
        else f"满足其未满足的 {_t(f.need_free_grams)} 吨中的 {_t(f.grams)} 吨"
    )
    if f.feasible == 1:
        standing = "这是唯一符合条件的挂牌。"
    elif f.rank == 1:
        standing = f"在 {f.feasible} 个符合条件的挂牌中到货成本最低。"
    else:
        standing = (
            f"在 {f.feasible} 个符合条件的挂牌中到货成本排第 {f.rank}："
            "更便宜的挂牌已分配给能匹配更多数量或总成本更低的需求。"
        )
    return (
        f"挂牌 #{f.listing_id}（{f.seller_zh or f.seller_en}）向需求 #{f.need_id}"
        f"（{f.buyer_zh or f.buyer_en}）供应 {f.material_zh}{cas}{sub} {_t(f.grams)} 吨，"
        f"{share}。到货成本 {_yuan(f.price_fen + f.transport_fen)} 元/吨 = 单价 "
        f"{_yuan(f.price_fen)} + 运费 {_yuan(f.transport_fen)}（{_yuan(f.rate_fen)} 元/吨·公里 × "
        f"{_km(f.metres)} 公里）；合计 {_yuan(f.total_fen)} 元。"
        f"通过全部校验（{_CHECKS_ZH}）{_admission_zh(f)}。{standing}"
    )
