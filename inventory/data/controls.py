"""Controlled chemicals (管制类危险化学品) as data: which official list names a material, by CAS.

Chinese law controls who may buy these (domain reference, "Controlled chemicals";
《危险化学品安全管理条例》 Art. 38-41, 《易制毒化学品管理条例》). Each flag names the list it
comes from and the list's edition, and the Material columns copy them (``control_fields``),
so the catalogue says where a flag came from and a correction needs no release.

Sources:

* 剧毒化学品 (highly toxic): the entries marked 剧毒 in 《危险化学品目录（2015版）》.
* 易制爆危险化学品 (explosive precursors): 《易制爆危险化学品名录（2017年版）》, Ministry of
  Public Security.
* 易制毒化学品 (drug precursors, categories 1-3): the annex 《易制毒化学品的分类和品种目录》
  of 《易制毒化学品管理条例》 as amended in 2014. Bromine (溴素) was, as far as the project
  knows, added to category 2 by a later announcement (2017, in force 2018): see TO_CONFIRM.

Only materials of the catalogue (inventory.data.chemicals) are flagged, and only those the
project has named so far; a material absent here is not thereby uncontrolled. The flags are
to be verified against the official lists before they are relied on (``TO_CONFIRM``; the
admin's help text says so too).
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ControlList:
    """An official list of controlled chemicals, in one edition."""

    key: str
    name_zh: str
    name_en: str
    title: str  # the list's official title, with its edition
    issuer: str

    @property
    def citation(self) -> str:
        return f"{self.name_zh} {self.name_en}: {self.title}, {self.issuer}"


HIGHLY_TOXIC = ControlList(
    key="highly_toxic",
    name_zh="剧毒化学品",
    name_en="highly toxic chemical",
    title="《危险化学品目录（2015版）》 (entries marked 剧毒)",
    issuer="State Administration of Work Safety and nine other departments, 2015",
)
EXPLOSIVE_PRECURSOR = ControlList(
    key="explosive_precursor",
    name_zh="易制爆危险化学品",
    name_en="explosive precursor",
    title="《易制爆危险化学品名录（2017年版）》",
    issuer="Ministry of Public Security, 2017",
)
DRUG_PRECURSOR = ControlList(
    key="drug_precursor",
    name_zh="易制毒化学品",
    name_en="drug precursor",
    title="《易制毒化学品管理条例》 annex 《易制毒化学品的分类和品种目录》 (as amended 2014)",
    issuer="State Council, Decree 445",
)

LISTS: tuple[ControlList, ...] = (HIGHLY_TOXIC, EXPLOSIVE_PRECURSOR, DRUG_PRECURSOR)
CATEGORY_ZH = {1: "第一类", 2: "第二类", 3: "第三类"}


@dataclass(frozen=True)
class ControlFlag:
    """One list naming one material; ``category`` is the drug-precursor category (1-3)."""

    list: ControlList
    category: int = 0

    @property
    def citation(self) -> str:
        if not self.category:
            return self.list.citation
        source = self.list
        return (
            f"{source.name_zh}（{CATEGORY_ZH[self.category]}） {source.name_en}, "
            f"category {self.category}: {source.title}, {source.issuer}"
        )


_TOXIC = ControlFlag(HIGHLY_TOXIC)
_EXPLOSIVE = ControlFlag(EXPLOSIVE_PRECURSOR)
_DRUG_2 = ControlFlag(DRUG_PRECURSOR, 2)
_DRUG_3 = ControlFlag(DRUG_PRECURSOR, 3)

# CAS number -> the lists that name the material (a material may be on several).
CONTROLS: dict[str, tuple[ControlFlag, ...]] = {
    # 剧毒化学品
    "75-44-5": (_TOXIC,),  # phosgene 光气
    "74-90-8": (_TOXIC,),  # hydrogen cyanide 氰化氢
    "143-33-9": (_TOXIC,),  # sodium cyanide 氰化钠
    "151-50-8": (_TOXIC,),  # potassium cyanide 氰化钾
    # 易制爆危险化学品
    "7697-37-2": (_EXPLOSIVE,),  # nitric acid 硝酸
    "6484-52-2": (_EXPLOSIVE,),  # ammonium nitrate 硝酸铵
    "7775-09-9": (_EXPLOSIVE,),  # sodium chlorate 氯酸钠
    "7722-64-7": (_EXPLOSIVE, _DRUG_3),  # potassium permanganate 高锰酸钾: on both lists
    "7440-23-5": (_EXPLOSIVE,),  # sodium 钠
    "7704-34-9": (_EXPLOSIVE,),  # sulfur 硫磺
    # 易制毒化学品, category 2
    "60-29-7": (_DRUG_2,),  # ethyl ether 乙醚
    "67-66-3": (_DRUG_2,),  # chloroform 三氯甲烷
    "7726-95-6": (_DRUG_2,),  # bromine 溴素
    # 易制毒化学品, category 3
    "108-88-3": (_DRUG_3,),  # toluene 甲苯
    "67-64-1": (_DRUG_3,),  # acetone 丙酮
    "78-93-3": (_DRUG_3,),  # methyl ethyl ketone 丁酮
    "7664-93-9": (_DRUG_3,),  # sulfuric acid 硫酸
    "7647-01-0": (_DRUG_3,),  # hydrochloric acid 盐酸
}

# Flags whose source the project could not check against the published text.
TO_CONFIRM: dict[str, str] = {
    "7726-95-6": (
        "Bromine is believed to have been added to drug-precursor category 2 by a 2017 "
        "announcement of the Ministry of Public Security and others (in force 2018), after "
        "the 2014 edition named here; confirm the edition."
    ),
}


def control_fields(cas: str | None) -> dict[str, Any]:
    """The Material columns of the controls on ``cas`` (all off for a material not listed):
    ``highly_toxic``, ``explosive_precursor``, ``drug_precursor_category``,
    ``control_source``."""
    flags = CONTROLS.get(cas or "", ())
    return {
        "highly_toxic": any(flag.list is HIGHLY_TOXIC for flag in flags),
        "explosive_precursor": any(flag.list is EXPLOSIVE_PRECURSOR for flag in flags),
        "drug_precursor_category": max(
            (flag.category for flag in flags if flag.list is DRUG_PRECURSOR), default=0
        ),
        "control_source": "; ".join(flag.citation for flag in flags),
    }
