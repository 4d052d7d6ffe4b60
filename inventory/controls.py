"""Who may buy a controlled chemical (管制类危险化学品): the one rule, in one place.

Orders (orders.services) and the matching engine ask :func:`permit_refusal` whether a buyer's
permits let it buy a material; the permits are read in bulk by
``inventory.selectors.permits_of``. Pure: no query, no clock (``today`` is an argument).

Which permit kinds satisfy which control (domain reference, "Controlled chemicals"):

* 剧毒化学品 (highly toxic): a hazardous-chemicals safety production, safe use or business
  licence, or a highly-toxic purchase permit (剧毒化学品购买许可证);
* 易制爆危险化学品 (explosive precursor): one of those three licences, or documents of
  lawful use (合法用途证明);
* 易制毒化学品 (drug precursor): category 1 a purchase permit (购买许可证); categories 2
  and 3 a purchase permit or a filing certificate (备案证明).

A material under several controls needs every one satisfied. A permit covers a material
when its kind satisfies the control, ``valid_from <= today <= expires_on`` and it names the
material or names none (then it covers every material its kind may cover).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

DRUG_PRECURSOR_CATEGORIES = (0, 1, 2, 3)  # 0: not a drug precursor


class PermitKind(models.TextChoices):
    SAFETY_PRODUCTION_LICENCE = (
        "safety_production_licence",
        _("hazardous-chemicals safety production licence (安全生产许可证)"),
    )
    SAFE_USE_LICENCE = (
        "safe_use_licence",
        _("hazardous-chemicals safe use licence (安全使用许可证)"),
    )
    BUSINESS_LICENCE = "business_licence", _("hazardous-chemicals business licence (经营许可证)")
    HIGHLY_TOXIC_PURCHASE_PERMIT = (
        "highly_toxic_purchase_permit",
        _("highly-toxic chemicals purchase permit (剧毒化学品购买许可证)"),
    )
    EXPLOSIVE_PRECURSOR_LAWFUL_USE = (
        "explosive_precursor_lawful_use",
        _("explosive-precursor lawful-use documents (易制爆合法用途证明)"),
    )
    DRUG_PRECURSOR_PURCHASE_PERMIT = (
        "drug_precursor_purchase_permit",
        _("drug-precursor purchase permit (易制毒购买许可证)"),
    )
    DRUG_PRECURSOR_FILING_CERTIFICATE = (
        "drug_precursor_filing_certificate",
        _("drug-precursor filing certificate (易制毒备案证明)"),
    )


K = PermitKind
LICENCES = frozenset({K.SAFETY_PRODUCTION_LICENCE, K.SAFE_USE_LICENCE, K.BUSINESS_LICENCE})
HIGHLY_TOXIC_KINDS = LICENCES | {K.HIGHLY_TOXIC_PURCHASE_PERMIT}
EXPLOSIVE_PRECURSOR_KINDS = LICENCES | {K.EXPLOSIVE_PRECURSOR_LAWFUL_USE}
# Drug-precursor category -> the kinds that satisfy it.
DRUG_PRECURSOR_KINDS: dict[int, frozenset[str]] = {
    1: frozenset({K.DRUG_PRECURSOR_PURCHASE_PERMIT}),
    2: frozenset({K.DRUG_PRECURSOR_PURCHASE_PERMIT, K.DRUG_PRECURSOR_FILING_CERTIFICATE}),
    3: frozenset({K.DRUG_PRECURSOR_PURCHASE_PERMIT, K.DRUG_PRECURSOR_FILING_CERTIFICATE}),
}

# The refusals, one per control; %(name)s is the material. English unless translated.
_HIGHLY_TOXIC = gettext_noop(
    "%(name)s is a highly toxic chemical (剧毒化学品); the buyer holds no valid "
    "hazardous-chemicals licence or highly-toxic purchase permit covering it."
)
_EXPLOSIVE = gettext_noop(
    "%(name)s is an explosive precursor (易制爆危险化学品); the buyer holds no valid "
    "hazardous-chemicals licence or lawful-use documents covering it."
)
_DRUG_1 = gettext_noop(
    "%(name)s is a category 1 drug precursor (第一类易制毒化学品); the buyer holds no valid "
    "drug-precursor purchase permit covering it."
)
_DRUG_2_3 = gettext_noop(
    "%(name)s is a category %(category)d drug precursor (易制毒化学品); the buyer holds no "
    "valid drug-precursor purchase permit or filing certificate covering it."
)
_THIS_MATERIAL = gettext_noop("This material")


@dataclass(frozen=True)
class Controls:
    """What a material requires of its buyer."""

    highly_toxic: bool = False
    explosive_precursor: bool = False
    drug_precursor_category: int = 0

    def __post_init__(self) -> None:
        if self.drug_precursor_category not in DRUG_PRECURSOR_CATEGORIES:
            raise ValueError(f"drug_precursor_category {self.drug_precursor_category} not in 0-3")

    @property
    def any(self) -> bool:
        return self.highly_toxic or self.explosive_precursor or self.drug_precursor_category > 0

    @classmethod
    def of(cls, material: Any) -> "Controls":
        """The controls of a Material instance (or anything with its three columns)."""
        return cls(
            highly_toxic=bool(material.highly_toxic),
            explosive_precursor=bool(material.explosive_precursor),
            drug_precursor_category=int(material.drug_precursor_category or 0),
        )


@dataclass(frozen=True)
class PermitFacts:
    """What the rule reads of one permit."""

    kind: str
    material_ids: frozenset[int]  # empty: any material the kind covers
    valid_from: date
    expires_on: date

    def covers(self, *, material_id: int, kinds: frozenset[str], today: date) -> bool:
        """Whether this permit, on ``today``, is one of ``kinds`` and covers the material."""
        return (
            self.kind in kinds
            and self.valid_from <= today <= self.expires_on
            and (not self.material_ids or material_id in self.material_ids)
        )


def required_kinds(controls: Controls) -> list[tuple[frozenset[str], str]]:
    """Each control of ``controls`` as (the permit kinds that satisfy it, the refusal's
    template), in a fixed order: highly toxic, explosive precursor, drug precursor."""
    out: list[tuple[frozenset[str], str]] = []
    if controls.highly_toxic:
        out.append((HIGHLY_TOXIC_KINDS, _HIGHLY_TOXIC))
    if controls.explosive_precursor:
        out.append((EXPLOSIVE_PRECURSOR_KINDS, _EXPLOSIVE))
    category = controls.drug_precursor_category
    if category:
        out.append((DRUG_PRECURSOR_KINDS[category], _DRUG_1 if category == 1 else _DRUG_2_3))
    return out


def permit_refusal(
    *,
    material_id: int,
    controls: Controls,
    permits: Iterable[PermitFacts],
    today: date,
    name: str | None = None,
    translate: bool = False,
) -> str | None:
    """None when the buyer may buy; else one English sentence naming the control and what
    permit is missing (the first unsatisfied control, in the order of
    :func:`required_kinds`). ``name`` is the material's, "This material" without one;
    ``translate`` renders the sentence in the active language instead of English."""
    if not controls.any:
        return None
    held = tuple(permits)
    for kinds, template in required_kinds(controls):
        if not any(p.covers(material_id=material_id, kinds=kinds, today=today) for p in held):
            text = gettext if translate else str
            return text(template) % {
                "name": name or text(_THIS_MATERIAL),
                "category": controls.drug_precursor_category,
            }
    return None
