"""The demo world that ``manage.py seed_demo`` builds.

Four chemical parks on Hangzhou Bay (three in Ningbo, region 3302, and one in Shaoxing,
region 3306, so that "same region" visibility has something to exclude), 44 enterprises,
the material catalogue of inventory.data.chemicals, shared and private warehouses with
zones, a few hundred stock lots, listings, needs, the permits that let the enterprises buy
the controlled chemicals they trade in, and one login per role.

The parks are real places with real division codes; their coordinates and areas are
approximate. Every enterprise is fictitious, and so are its USCC, licence number and stock.

Determinism: every random choice comes from a ``random.Random`` seeded with ``SEED`` and
the natural key of what is being made (an enterprise key, a batch number, a need number),
so the result depends neither on the order things are built in nor on what already exists.
Dates are relative to one ``today`` (the local date of the run).

Idempotence: parks, enterprises, materials, warehouses, zones, users and roles are
``update_or_create``-d by natural key (park code, USCC, CAS or English name, warehouse code,
warehouse + zone code, username), after the models' own validators have checked every
value (``_upsert``: a CAS or USCC check character, a range, as the services check them);
permits are made once, by enterprise, kind and number.
Stock lots are identified by their batch number
(``demo_batch_no``: enterprise, material, number) and skipped when present; a listing is
made only together with its new lot; needs carry a ``[demo-need-NNN]`` tag in their note
and are skipped when it is found. A second run therefore changes no row count.

Stock enters only through inventory.services.stock_receive, so the ledger matches and the
zone's licence, capacity and segregation are checked; a refused receipt tries the next
candidate zone, and a lot no zone admits is left out (counted in the report).
"""

import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from access.models import Membership, ParkRole
from access.roles import ADMIN_ROLES, EnterpriseRole, ParkRoleKind
from access.scope import Scope, resolve_scope
from common.demo import DEMO_PASSWORD, demo_password_hash
from common.exceptions import DomainError
from common.identifiers import USCC_ALPHABET, uscc_check_char
from common.validation import validate_values
from inventory.controls import PermitKind
from inventory.data.chemicals import CATALOGUE, Chemical
from inventory.data.controls import CONTROLS, control_fields
from inventory.hazards import HazardProfile, Separation, required_separation
from inventory.models import Material, Permit, StockLot, StorageZone, Warehouse
from inventory.services import permit_create, stock_receive
from marketplace.models import Listing, Need
from marketplace.services import listing_create, listing_withdraw, need_close, need_create
from parks.models import Enterprise, Park

SEED = "parkshare-demo-1"
SUPERUSER_NAME = "admin"
BATCH_PREFIX = "DEMO-"
NEED_COUNT = 80

KG_PER_T = Decimal(1000)


def _rng(*parts: object) -> random.Random:
    """A generator of its own for one thing of the world, keyed by what it makes."""
    return random.Random(":".join([SEED, *map(str, parts)]))  # noqa: S311  -- demo data


def _coord(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


# --- Parks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParkSpec:
    code: str
    name_zh: str
    name_en: str
    division_code: str  # GB/T 2260, county level
    latitude: float
    longitude: float
    area_mu: int
    shared_warehouses: int  # 1 or 2


PARKS: tuple[ParkSpec, ...] = (
    ParkSpec(
        "nbpedz",
        "宁波石化经济技术开发区",
        "Ningbo Petrochemical Economic and Technological Development Zone",
        "330211",  # Zhenhai District
        29.990,
        121.620,
        84000,
        2,
    ),
    ParkSpec(
        "daxie",
        "宁波大榭开发区",
        "Ningbo Daxie Development Zone",
        "330206",  # Beilun District (Daxie Island)
        29.935,
        121.960,
        46000,
        2,
    ),
    ParkSpec(
        "hzbay",
        "宁波杭州湾新区",
        "Ningbo Hangzhou Bay New Area",
        "330282",  # Cixi
        30.310,
        121.200,
        52500,
        1,
    ),
    ParkSpec(
        "shangyu",
        "杭州湾上虞经济技术开发区",
        "Hangzhou Bay Shangyu Economic and Technological Development Zone",
        "330604",  # Shangyu District, Shaoxing
        30.120,
        120.860,
        57000,
        1,
    ),
)

# A regulator over the three Ningbo parks, beside one regulator per park.
CITY_REGULATOR = ("ningbo.regulator", ("nbpedz", "daxie", "hzbay"))


# --- What each kind of enterprise keeps (materials by CAS, or English name without one) ---

# fmt: off
INDUSTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "refining": ("炼油 Refining", (
        "8002-05-9", "86290-81-5", "68334-30-5", "8008-20-6", "68476-85-7", "1333-74-0",
        "1634-04-4", "1310-73-2", "7704-34-9",
    )),
    "olefins": ("乙烯裂解 Olefins", (
        "74-85-1", "115-07-1", "106-99-0", "74-84-0", "71-43-2", "68476-85-7", "1333-74-0",
        "74-82-8",
    )),
    "eo_eg": ("环氧乙烷/乙二醇 EO/EG", (
        "75-21-8", "107-21-1", "74-85-1", "7782-44-7", "7727-37-9", "124-38-9",
    )),
    "polyolefin": ("聚烯烃 Polyolefins", (
        "9002-88-4", "9003-07-0", "115-07-1", "74-85-1", "1333-74-0", "110-54-3", "7727-37-9",
    )),
    "acrylics": ("丙烯酸及酯 Acrylics", (
        "115-07-1", "79-10-7", "141-32-2", "71-36-3", "107-13-1", "7664-41-7", "7664-93-9",
    )),
    "industrial_gases": ("工业气体 Industrial gases", (
        "7782-44-7", "7727-37-9", "7440-37-1", "124-38-9", "1333-74-0", "74-86-2",
    )),
    "solvents_trading": ("溶剂贸易 Solvent trading", (
        "67-56-1", "64-17-5", "67-64-1", "67-63-0", "141-78-6", "108-88-3", "1330-20-7",
        "78-93-3", "75-09-2", "110-54-3", "110-82-7",
    )),
    "methylamines": ("甲胺/DMF Methylamines and DMF", (
        "74-89-5", "68-12-2", "67-56-1", "7664-41-7", "630-08-0",
    )),
    "hazmat_logistics": ("危化品储运 Hazardous-goods logistics", (
        "86290-81-5", "68334-30-5", "67-56-1", "7664-93-9", "1310-73-2", "7722-84-1",
        "7681-52-9", "100-42-5", "106-42-3",
    )),
    "epoxy": ("环氧树脂/氯化 Epoxy and chlorination", (
        "106-89-8", "107-06-2", "75-01-4", "115-07-1", "1310-73-2", "7647-01-0", "7782-50-5",
    )),
    "mto": ("甲醇制烯烃 Methanol to olefins", (
        "67-56-1", "115-10-6", "74-85-1", "115-07-1", "68476-85-7",
    )),
    "isocyanate": ("聚氨酯原料 Isocyanates", (
        "26471-62-5", "108-88-3", "7697-37-2", "7664-93-9", "1333-74-0", "7782-50-5",
        "7647-01-0", "98-95-3", "62-53-3",
    )),
    "pta_polyester": ("PTA/聚酯 PTA and polyester", (
        "100-21-0", "106-42-3", "64-19-7", "107-21-1", "1310-73-2", "7727-37-9", "1333-74-0",
    )),
    "aromatics": ("芳烃 Aromatics", (
        "106-42-3", "1330-20-7", "71-43-2", "108-88-3", "100-41-4", "1333-74-0", "7727-37-9",
    )),
    "styrene": ("苯乙烯/EPS Styrene and EPS", (
        "100-41-4", "100-42-5", "71-43-2", "74-85-1", "Polymeric beads, expandable (EPS)",
        "108-88-3",
    )),
    "chlor_alkali": ("氯碱 Chlor-alkali", (
        "7782-50-5", "1310-73-2", "7647-01-0", "7681-52-9", "1333-74-0", "7647-14-5",
        "7664-93-9", "1310-58-3",
    )),
    "phenol_acetone": ("苯酚丙酮 Phenol and acetone", (
        "98-82-8", "108-95-2", "67-64-1", "71-43-2", "115-07-1", "7664-93-9", "1310-73-2",
    )),
    "propylene_oxide": ("环氧丙烷 Propylene oxide", (
        "75-56-9", "115-07-1", "7722-84-1", "67-56-1", "7727-37-9",
    )),
    "lpg_terminal": ("液化烃码头 LPG terminal", (
        "68476-85-7", "115-07-1", "115-10-6", "1634-04-4",
    )),
    "fine_chem": ("医药中间体 Pharmaceutical intermediates", (
        "68-12-2", "75-05-8", "109-99-9", "75-09-2", "67-66-3", "121-44-8", "64-18-6", "64-19-7",
        "7722-84-1", "7647-01-0", "64-17-5",
    )),
    "coatings": ("涂料树脂 Coatings and resins", (
        "80-62-6", "141-32-2", "108-05-4", "1330-20-7", "71-36-3", "141-78-6", "78-93-3",
        "104-76-7",
    )),
    "acetyls": ("醋酸及衍生物 Acetyls", (
        "75-07-0", "64-19-7", "64-17-5", "141-78-6", "108-05-4", "67-56-1", "630-08-0",
    )),
    "plating_chem": ("电镀化学品 Plating chemicals", (
        "143-33-9", "151-50-8", "1310-73-2", "1310-58-3", "1336-21-6", "497-19-8",
    )),
    "fluorochem": ("氟化工 Fluorochemicals", (
        "7664-39-3", "7664-93-9", "67-66-3", "56-23-5", "7647-01-0", "7726-95-6",
    )),
    "phosphorus_chem": ("磷化工及金属钠 Phosphorus and sodium", (
        "12185-10-3", "7440-23-5", "75-20-7", "7704-34-9", "91-20-3", "497-19-8",
    )),
    "oxidizers": ("无机氧化剂 Inorganic oxidizers", (
        "7775-09-9", "7722-64-7", "7632-00-0", "6484-52-2", "7722-84-1", "7697-37-2",
    )),
    "formaldehyde": ("甲醛及树脂 Formaldehyde and resins", (
        "67-56-1", "50-00-0", "57-13-6", "1310-73-2",
    )),
    "dye_intermediates": ("染料中间体 Dye intermediates", (
        "98-95-3", "62-53-3", "7697-37-2", "7664-93-9", "71-43-2", "1333-74-0", "108-90-7",
    )),
    "caprolactam": ("己内酰胺 Caprolactam", (
        "108-94-1", "110-82-7", "105-60-2", "7783-20-2", "71-43-2", "1333-74-0", "7664-41-7",
        "7664-93-9",
    )),
    "water_treatment": ("水处理剂 Water-treatment chemicals", (
        "7681-52-9", "7722-84-1", "7647-01-0", "1310-73-2", "7664-93-9", "7664-38-2", "497-19-8",
    )),
}
# fmt: on


@dataclass(frozen=True)
class EnterpriseSpec:
    key: str  # short, stable: usernames, warehouse codes and the USCC derive from it
    park: str
    name_zh: str
    name_en: str
    industry: str
    private_warehouse: bool = True
    full_staff: bool = False  # a login for every enterprise role, not only the admin


# fmt: off
ENTERPRISES: tuple[EnterpriseSpec, ...] = (
    EnterpriseSpec("zh01", "nbpedz", "宁波甬辰炼化有限公司", "Ningbo Yongchen Refining & Chemical Co., Ltd.", "refining", full_staff=True),  # noqa: E501
    EnterpriseSpec("zh02", "nbpedz", "宁波澥航烯烃有限公司", "Ningbo Xiehang Olefins Co., Ltd.", "olefins", full_staff=True),  # noqa: E501
    EnterpriseSpec("zh03", "nbpedz", "宁波蛟源化学有限公司", "Ningbo Jiaoyuan Chemical Co., Ltd.", "eo_eg"),  # noqa: E501
    EnterpriseSpec("zh04", "nbpedz", "宁波镇禾新材料有限公司", "Ningbo Zhenhe New Materials Co., Ltd.", "polyolefin"),  # noqa: E501
    EnterpriseSpec("zh05", "nbpedz", "宁波海岚丙烯酸有限公司", "Ningbo Hailan Acrylics Co., Ltd.", "acrylics"),  # noqa: E501
    EnterpriseSpec("zh06", "nbpedz", "宁波澥浦工业气体有限公司", "Ningbo Xiepu Industrial Gases Co., Ltd.", "industrial_gases"),  # noqa: E501
    EnterpriseSpec("zh07", "nbpedz", "宁波甬珩溶剂贸易有限公司", "Ningbo Yongheng Solvents Trading Co., Ltd.", "solvents_trading", private_warehouse=False),  # noqa: E501
    EnterpriseSpec("zh08", "nbpedz", "宁波蛟川胺业有限公司", "Ningbo Jiaochuan Amines Co., Ltd.", "methylamines"),  # noqa: E501
    EnterpriseSpec("zh09", "nbpedz", "宁波镇港危化品物流有限公司", "Ningbo Zhengang Hazardous Goods Logistics Co., Ltd.", "hazmat_logistics"),  # noqa: E501
    EnterpriseSpec("zh10", "nbpedz", "宁波澥川环氧树脂有限公司", "Ningbo Xiechuan Epoxy Resins Co., Ltd.", "epoxy"),  # noqa: E501
    EnterpriseSpec("zh11", "nbpedz", "宁波泓澥能源化工有限公司", "Ningbo Hongxie Energy & Chemicals Co., Ltd.", "mto"),  # noqa: E501
    EnterpriseSpec("dx01", "daxie", "宁波榭屿聚氨酯有限公司", "Ningbo Xieyu Polyurethane Co., Ltd.", "isocyanate", full_staff=True),  # noqa: E501
    EnterpriseSpec("dx02", "daxie", "宁波榭源石化有限公司", "Ningbo Xieyuan Petrochemical Co., Ltd.", "pta_polyester", full_staff=True),  # noqa: E501
    EnterpriseSpec("dx03", "daxie", "宁波榭海芳烃有限公司", "Ningbo Xiehai Aromatics Co., Ltd.", "aromatics"),  # noqa: E501
    EnterpriseSpec("dx04", "daxie", "宁波屿泓苯乙烯有限公司", "Ningbo Yuhong Styrene Co., Ltd.", "styrene"),  # noqa: E501
    EnterpriseSpec("dx05", "daxie", "宁波榭港氯碱化工有限公司", "Ningbo Xiegang Chlor-Alkali Co., Ltd.", "chlor_alkali"),  # noqa: E501
    EnterpriseSpec("dx06", "daxie", "宁波屿辰酚酮有限公司", "Ningbo Yuchen Phenol & Acetone Co., Ltd.", "phenol_acetone"),  # noqa: E501
    EnterpriseSpec("dx07", "daxie", "宁波榭澜环氧丙烷有限公司", "Ningbo Xielan Propylene Oxide Co., Ltd.", "propylene_oxide"),  # noqa: E501
    EnterpriseSpec("dx08", "daxie", "宁波屿岚气体有限公司", "Ningbo Yulan Gases Co., Ltd.", "industrial_gases"),  # noqa: E501
    EnterpriseSpec("dx09", "daxie", "宁波榭湾石化储运有限公司", "Ningbo Xiewan Petrochemical Terminal Co., Ltd.", "hazmat_logistics"),  # noqa: E501
    EnterpriseSpec("dx10", "daxie", "宁波屿航化工贸易有限公司", "Ningbo Yuhang Chemical Trading Co., Ltd.", "solvents_trading", private_warehouse=False),  # noqa: E501
    EnterpriseSpec("dx11", "daxie", "宁波榭能液化气有限公司", "Ningbo Xieneng LPG Co., Ltd.", "lpg_terminal"),  # noqa: E501
    EnterpriseSpec("hb01", "hzbay", "宁波湾锦精细化工有限公司", "Ningbo Wanjin Fine Chemicals Co., Ltd.", "fine_chem", full_staff=True),  # noqa: E501
    EnterpriseSpec("hb02", "hzbay", "宁波湾彩涂料有限公司", "Ningbo Wancai Coatings Co., Ltd.", "coatings", private_warehouse=False, full_staff=True),  # noqa: E501
    EnterpriseSpec("hb03", "hzbay", "宁波湾泽化学有限公司", "Ningbo Wanze Chemical Co., Ltd.", "acetyls"),  # noqa: E501
    EnterpriseSpec("hb04", "hzbay", "宁波湾晟电镀化学品有限公司", "Ningbo Wansheng Plating Chemicals Co., Ltd.", "plating_chem"),  # noqa: E501
    EnterpriseSpec("hb05", "hzbay", "宁波湾氟新材料有限公司", "Ningbo Wanfu New Materials Co., Ltd.", "fluorochem"),  # noqa: E501
    EnterpriseSpec("hb06", "hzbay", "宁波湾磷化工有限公司", "Ningbo Wanlin Chemical Co., Ltd.", "phosphorus_chem"),  # noqa: E501
    EnterpriseSpec("hb07", "hzbay", "宁波湾晖无机化工有限公司", "Ningbo Wanhui Inorganic Chemicals Co., Ltd.", "oxidizers"),  # noqa: E501
    EnterpriseSpec("hb08", "hzbay", "宁波湾醛树脂有限公司", "Ningbo Wanquan Resins Co., Ltd.", "formaldehyde"),  # noqa: E501
    EnterpriseSpec("hb09", "hzbay", "宁波湾硕染料中间体有限公司", "Ningbo Wanshuo Dye Intermediates Co., Ltd.", "dye_intermediates"),  # noqa: E501
    EnterpriseSpec("hb10", "hzbay", "宁波湾纶己内酰胺有限公司", "Ningbo Wanlun Caprolactam Co., Ltd.", "caprolactam"),  # noqa: E501
    EnterpriseSpec("hb11", "hzbay", "宁波湾清水处理剂有限公司", "Ningbo Wanqing Water Treatment Chemicals Co., Ltd.", "water_treatment"),  # noqa: E501
    EnterpriseSpec("sy01", "shangyu", "浙江舜虞医药化工有限公司", "Zhejiang Shunyu Pharmaceutical Chemicals Co., Ltd.", "fine_chem", full_staff=True),  # noqa: E501
    EnterpriseSpec("sy02", "shangyu", "浙江曹娥氟化学有限公司", "Zhejiang Cao'e Fluorochemicals Co., Ltd.", "fluorochem", full_staff=True),  # noqa: E501
    EnterpriseSpec("sy03", "shangyu", "浙江虞染化工有限公司", "Zhejiang Yuran Chemical Co., Ltd.", "dye_intermediates"),  # noqa: E501
    EnterpriseSpec("sy04", "shangyu", "浙江虞氰精细化工有限公司", "Zhejiang Yuqing Fine Chemicals Co., Ltd.", "plating_chem"),  # noqa: E501
    EnterpriseSpec("sy05", "shangyu", "绍兴上虞舜航化工贸易有限公司", "Shaoxing Shangyu Shunhang Chemical Trading Co., Ltd.", "solvents_trading", private_warehouse=False),  # noqa: E501
    EnterpriseSpec("sy06", "shangyu", "浙江舜晖化学有限公司", "Zhejiang Shunhui Chemical Co., Ltd.", "oxidizers"),  # noqa: E501
    EnterpriseSpec("sy07", "shangyu", "浙江曹江氯碱有限公司", "Zhejiang Caojiang Chlor-Alkali Co., Ltd.", "chlor_alkali"),  # noqa: E501
    EnterpriseSpec("sy08", "shangyu", "浙江舜环新材料有限公司", "Zhejiang Shunhuan New Materials Co., Ltd.", "epoxy"),  # noqa: E501
    EnterpriseSpec("sy09", "shangyu", "绍兴上虞舜气工业气体有限公司", "Shaoxing Shangyu Shunqi Industrial Gases Co., Ltd.", "industrial_gases"),  # noqa: E501
    EnterpriseSpec("sy10", "shangyu", "绍兴上虞曹娥危化品储运有限公司", "Shaoxing Shangyu Cao'e Hazardous Goods Logistics Co., Ltd.", "hazmat_logistics"),  # noqa: E501
    EnterpriseSpec("sy11", "shangyu", "浙江虞彩新材料有限公司", "Zhejiang Yucai New Materials Co., Ltd.", "coatings", private_warehouse=False),  # noqa: E501
)
# fmt: on

ENTERPRISE_ROLE_SUFFIX = {
    EnterpriseRole.ENTERPRISE_ADMIN: "admin",
    EnterpriseRole.TRADER: "trader",
    EnterpriseRole.WAREHOUSE_KEEPER: "keeper",
    EnterpriseRole.VIEWER: "viewer",
}


# --- Warehouses and zones -------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneSpec:
    kind: str  # what the zone is for; also the prefix of its code
    name: str
    building: str
    allowed_classes: tuple[str, ...]
    capacity_t: int


# The zone kinds. Buildings keep apart what segregation codes 3 and 4 separate (flammable
# liquids, oxidizers, gases, reactive solids); within a building zones separate code 2.
ZONE_KINDS: dict[str, ZoneSpec] = {
    "FL": ZoneSpec("FL", "甲乙类液体库 flammable liquids", "A", ("3", "6.1", "8"), 8000),
    "COR": ZoneSpec("COR", "腐蚀品库 corrosives", "B", ("8", "6.1", "3"), 3000),
    "TOX": ZoneSpec("TOX", "毒害品库 toxic substances", "B", ("6.1", "3", "8"), 800),
    "OX": ZoneSpec("OX", "氧化剂库 oxidizers", "C", ("5.1", "8", "6.1"), 800),
    "GAS": ZoneSpec("GAS", "气体罐区 flammable and inert gases", "D", ("2.1", "2.2"), 1500),
    "OXG": ZoneSpec("OXG", "氧化性气体储罐 oxidizing gases", "E", ("2.2", "5.1"), 1500),
    "TGAS": ZoneSpec("TGAS", "毒性气体库 toxic gases", "F", ("2.3", "2.1", "2.2", "5.1", "8"), 300),
    "SOL": ZoneSpec("SOL", "易燃固体及遇湿易燃品库 flammable solids", "G", ("4.1", "4.3"), 1500),
    "PYR": ZoneSpec("PYR", "自燃物品库 spontaneously combustible", "H", ("4.2", "6.1"), 200),
    "GEN": ZoneSpec("GEN", "普通仓库 general goods", "J", ("9",), 20000),
}

# Shared warehouses: (code suffix, name, zones as (kind, number, building, capacity t)).
# A park with one shared warehouse gets both sets in it.
SHARED_WAREHOUSES: tuple[tuple[str, str, tuple[tuple[str, int, str, int], ...]], ...] = (
    (
        "shared-1",
        "公共危化品仓储中心一期 Shared hazardous-goods warehouse, phase 1",
        (
            ("FL", 1, "A", 6000),
            ("FL", 2, "A", 4000),
            ("COR", 1, "B", 3000),
            ("TOX", 1, "B", 1000),
            ("GAS", 1, "C", 1500),
            ("OXG", 1, "C", 1000),
            ("TGAS", 1, "D", 300),
            ("TGAS", 2, "D", 300),
        ),
    ),
    (
        "shared-2",
        "公共仓储中心二期 Shared warehouse, phase 2",
        (
            ("OX", 1, "E", 1000),
            ("OX", 2, "E", 600),
            ("SOL", 1, "F", 1500),
            ("GEN", 1, "G", 20000),
            ("COR", 2, "H", 2000),
        ),
    ),
)


# Where a material may go when the zones of its own kind refuse it, best first.
FALLBACK_KINDS: dict[str, tuple[str, ...]] = {
    "FL": ("FL", "COR", "TOX"),
    "COR": ("COR", "TOX", "FL"),
    "TOX": ("TOX", "COR", "FL"),
    "OX": ("OX",),
    "GAS": ("GAS",),
    "OXG": ("OXG",),
    "TGAS": ("TGAS",),
    "SOL": ("SOL",),
    "PYR": ("PYR",),
    "GEN": ("GEN", "SOL"),
}


def hazard_profile(chemical: Chemical) -> HazardProfile:
    classes = (chemical.primary_class, *chemical.subsidiary_classes)
    return HazardProfile(
        classes=classes if chemical.primary_class else (),
        family=chemical.family,
        liquid=chemical.physical_state == "liquid",
        label=chemical.name_en,
    )


def keeps_apart_from_itself(chemical: Chemical) -> bool:
    """Whether segregation keeps two lots of this material out of one zone.

    inventory.hazards compares every class of one material with every class of the other,
    so a material whose own classes are segregated from each other (5.1 with 8: chlorine,
    hydrogen peroxide, nitric acid) needs a zone per lot. The demo plans one lot of such a
    material per enterprise and gives it a zone of its own.
    """
    profile = hazard_profile(chemical)
    return required_separation(profile, profile).separation > Separation.DISTANCE


def storage_kind(chemical: Chemical) -> str:
    """The kind of zone a material normally goes to."""
    primary, subsidiary = chemical.primary_class, chemical.subsidiary_classes
    if not primary or primary == "9":
        return "GEN"
    if primary == "2.3":
        return "TGAS"
    if primary.startswith("2"):
        return "OXG" if "5.1" in subsidiary else "GAS"
    if primary == "3":
        return "FL"
    if primary == "8":
        return "OX" if "5.1" in subsidiary else "COR"
    if primary == "5.1":
        return "OX"
    if primary == "6.1":
        return "TOX"
    if primary == "4.2":
        return "PYR"
    return "SOL"


# --- Lots, prices, needs ------------------------------------------------------------------

# Size of one lot in tonnes by zone kind, and for materials kept in small amounts.
LOT_RANGE_T: dict[str, tuple[float, float]] = {
    "FL": (20, 400),
    "COR": (10, 200),
    "TOX": (1, 30),
    "OX": (2, 40),
    "GAS": (2, 60),
    "OXG": (5, 80),
    "TGAS": (0.5, 6),
    "SOL": (5, 80),
    "PYR": (1, 8),
    "GEN": (20, 600),
}
LOT_RANGE_T_BY_MATERIAL: dict[str, tuple[float, float]] = {
    "1333-74-0": (0.2, 2),  # hydrogen, tube trailers
    "74-86-2": (0.1, 0.6),  # acetylene cylinders
    "7440-23-5": (0.5, 5),  # sodium
    "7726-95-6": (0.5, 5),  # bromine
    "143-33-9": (1, 15),  # sodium cyanide
    "151-50-8": (0.5, 5),  # potassium cyanide
    "7722-64-7": (1, 10),  # potassium permanganate
    "630-08-0": (0.2, 2),  # carbon monoxide
    "75-07-0": (5, 40),  # acetaldehyde
    "75-56-9": (10, 80),  # propylene oxide
}

# Reference prices, CNY per tonne (orders of magnitude of the Chinese market; demo only).
# A material without a price is not offered (captive intermediates, fuel gases in pipes).
REFERENCE_PRICE: dict[str, int] = {
    "7782-50-5": 400, "7664-41-7": 3000, "1333-74-0": 25000, "68476-85-7": 5000,
    "74-85-1": 7000, "75-21-8": 6500, "74-86-2": 12000, "7782-44-7": 600, "115-07-1": 6500,
    "74-84-0": 3500, "106-99-0": 9000, "75-01-4": 5500, "115-10-6": 4000, "74-89-5": 9000,
    "7727-37-9": 600, "124-38-9": 500, "7440-37-1": 1500,
    "67-56-1": 2500, "71-43-2": 7500, "108-88-3": 6000, "86290-81-5": 8500, "1330-20-7": 6500,
    "106-42-3": 7500, "100-41-4": 8000, "100-42-5": 8500, "98-82-8": 8000, "67-64-1": 5500,
    "64-17-5": 6000, "67-63-0": 7000, "71-36-3": 7500, "1634-04-4": 5500, "141-78-6": 5800,
    "110-54-3": 6500, "110-82-7": 7000, "108-94-1": 9000, "78-93-3": 7500, "80-62-6": 12000,
    "108-05-4": 6000, "141-32-2": 9000, "75-07-0": 6500, "68-12-2": 4500, "75-05-8": 9000,
    "109-99-9": 11000, "108-90-7": 7000, "75-56-9": 9000, "107-13-1": 9500, "107-06-2": 3000,
    "121-44-8": 10000, "68334-30-5": 7500, "8008-20-6": 6500, "8002-05-9": 4500,
    "106-89-8": 8000, "75-09-2": 2500, "67-66-3": 2200, "56-23-5": 3000, "62-53-3": 9000,
    "98-95-3": 7000, "26471-62-5": 15000, "143-33-9": 11000, "151-50-8": 20000,
    "108-95-2": 7500, "7664-93-9": 300, "7647-01-0": 150, "7697-37-2": 1800,
    "7664-38-2": 6000, "7664-39-3": 10000, "64-19-7": 3000, "64-18-6": 3200, "79-10-7": 6500,
    "1310-73-2": 900, "1310-58-3": 7000, "7681-52-9": 700, "50-00-0": 1100, "1336-21-6": 600,
    "7726-95-6": 25000, "7722-84-1": 900, "7775-09-9": 5500, "7722-64-7": 13000,
    "7632-00-0": 3300, "6484-52-2": 2500, "7704-34-9": 1200, "91-20-3": 5000,
    "12185-10-3": 25000, "7440-23-5": 18000, "75-20-7": 3000,
    "Polymeric beads, expandable (EPS)": 9000, "107-21-1": 4500, "104-76-7": 9000,
    "100-21-0": 5000, "9002-88-4": 8000, "9003-07-0": 7500, "7647-14-5": 400,
    "497-19-8": 1800, "57-13-6": 2000, "7783-20-2": 900, "105-60-2": 11000,
}  # fmt: skip

# Substitutes a need may accept, both ways.
SUBSTITUTE_PAIRS: tuple[tuple[str, str], ...] = (
    ("108-88-3", "1330-20-7"),  # toluene / xylenes as solvents
    ("67-64-1", "78-93-3"),  # acetone / butanone
    ("64-17-5", "67-63-0"),  # ethanol / isopropanol
    ("110-54-3", "110-82-7"),  # n-hexane / cyclohexane
    ("143-33-9", "151-50-8"),  # sodium / potassium cyanide
    ("7727-37-9", "7440-37-1"),  # nitrogen / argon for inerting
    ("7647-01-0", "7664-93-9"),  # hydrochloric / sulfuric acid for neutralising
    ("75-09-2", "67-66-3"),  # dichloromethane / chloroform
)

# Shelf life in days where it matters (inhibited monomers, decomposing solutions).
SHELF_LIFE_DAYS: dict[str, int] = {
    "100-42-5": 180, "80-62-6": 180, "108-05-4": 180, "141-32-2": 365, "79-10-7": 180,
    "106-99-0": 180, "7722-84-1": 365, "7681-52-9": 90, "50-00-0": 180, "60-29-7": 365,
    "109-99-9": 365, "75-21-8": 365,
}  # fmt: skip

# Materials whose purity is not a meaningful number (mixtures, solutions, polymers).
NO_PURITY: frozenset[str] = frozenset(
    {"86290-81-5", "68334-30-5", "8008-20-6", "8002-05-9", "68476-85-7", "1330-20-7",
     "26471-62-5", "9002-88-4", "9003-07-0", "74-82-8", "Polymeric beads, expandable (EPS)"}
)  # fmt: skip


def has_purity(chemical: Chemical) -> bool:
    key = chemical.cas or chemical.name_en
    return (
        key not in NO_PURITY and "%" not in chemical.name_en and "solution" not in chemical.name_en
    )


FUEL_GRADES: dict[str, tuple[str, ...]] = {
    "86290-81-5": ("92#", "95#", "98#"),
    "68334-30-5": ("0#", "-10#"),
}
GRADES = ("优等品", "一等品", "合格品")
PURITY_BY_GRADE = {"优等品": (99.90, 99.99), "一等品": (99.50, 99.89), "合格品": (99.00, 99.49)}

LISTING_NOTES = (
    "装置检修期间闲置，价格可议 / idle during a turnaround, price negotiable",
    "库存调整，整批优先 / stock rebalancing, whole lot preferred",
    "产能富余，可长期供应 / spare capacity, regular supply possible",
    "园区内自提优先 / collection within the park preferred",
    "临近复检期，优惠处理 / close to re-test date, discounted",
)
NEED_NOTES = (
    "装置开车备料 / stock for a unit start-up",
    "常规补库 / routine replenishment",
    "应急备用 / emergency reserve",
    "替代进口货源 / replacing an imported supply",
)
VISIBILITIES = (("park", 0.40), ("region", 0.35), ("all", 0.25))


# --- The report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A demo login: what seed_demo prints and writes to --accounts-json."""

    username: str
    password: str
    role: str
    enterprise: str | None  # USCC, for enterprise roles
    parks: list[str]  # park codes, for park operators and regulators


@dataclass
class WorldReport:
    today: date
    created: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)
    receipts_refused: int = 0  # receipts a zone refused before another admitted the lot
    lots_left_out: list[str] = field(default_factory=list)  # no zone admitted them
    accounts: list[Account] = field(default_factory=list)
    superuser: Account | None = None

    def count(self, what: str, *, created: bool) -> None:
        bucket = self.created if created else self.existing
        bucket[what] = bucket.get(what, 0) + 1


# --- Identifiers ----------------------------------------------------------------------------

# GB 11714 organisation code: 8 characters and a check character, weights below.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_check(body: str) -> str:
    total = sum(int(ch, 36) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def demo_uscc(key: str, division_code: str) -> str:
    """A valid, deterministic USCC for a demo enterprise: "91" (enterprise, company),
    the division code, a 9-character organisation code (with its own GB 11714 check
    character) and the GB 32100 check character."""
    rng = _rng("uscc", key)
    body = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    first17 = "91" + division_code + body + _org_code_check(body)
    return first17 + uscc_check_char(first17)


def demo_batch_no(enterprise_key: str, chemical: Chemical, number: int) -> str:
    """The batch number that identifies a demo lot: enterprise, material and a number, so
    that it does not depend on the order materials are listed in."""
    material = (chemical.cas or re.sub(r"[^A-Za-z0-9]", "", chemical.name_en)[:12]).replace("-", "")
    return f"{BATCH_PREFIX}{enterprise_key.upper()}-{material.upper()}-{number}"


# --- Building ---------------------------------------------------------------------------------


def _key_of(chemical: Chemical) -> str:
    return chemical.cas or chemical.name_en


M = TypeVar("M", bound=Model)


def _upsert(model: type[M], *, defaults: dict[str, Any], **lookup: Any) -> tuple[M, bool]:
    """``update_or_create`` of reference data after the model's validators have checked
    every value (the rows a service would refuse are refused here too)."""
    validate_values(model, **lookup, **defaults)
    return model._default_manager.update_or_create(defaults=defaults, **lookup)


class _Builder:
    def __init__(self, *, today: date) -> None:
        self.today = today
        self.report = WorldReport(today=today)
        self.parks: dict[str, Park] = {}
        self.enterprises: dict[str, Enterprise] = {}
        self.materials: dict[str, Material] = {}
        self.chemicals: dict[str, Chemical] = {_key_of(c): c for c in CATALOGUE}
        self.own_zones: dict[str, list[StorageZone]] = {}
        self.shared_zones: dict[str, list[StorageZone]] = {}
        self.users: dict[str, Any] = {}
        self.scopes: dict[str, Scope] = {}  # username -> Scope, resolved once
        self.password_hash = demo_password_hash()

    # Parks, enterprises, materials ---------------------------------------------------------

    def build_parks(self) -> None:
        for spec in PARKS:
            park, created = _upsert(
                Park,
                code=spec.code,
                defaults={
                    "name_zh": spec.name_zh,
                    "name_en": spec.name_en,
                    "division_code": spec.division_code,
                    "latitude": _coord(spec.latitude),
                    "longitude": _coord(spec.longitude),
                    "area_mu": Decimal(spec.area_mu),
                },
            )
            self.parks[spec.code] = park
            self.report.count("parks", created=created)

    def build_materials(self) -> None:
        for chemical in CATALOGUE:
            fields = {**chemical.material_fields(), **control_fields(chemical.cas)}
            if chemical.cas:
                material, created = _upsert(Material, cas=chemical.cas, defaults=fields)
            else:
                fields.pop("name_en")
                material, created = _upsert(
                    Material, cas=None, name_en=chemical.name_en, defaults=fields
                )
            self.materials[_key_of(chemical)] = material
            self.report.count("materials", created=created)

    def build_enterprises(self) -> None:
        for number, spec in enumerate(ENTERPRISES, start=1):
            park_spec = next(p for p in PARKS if p.code == spec.park)
            rng = _rng("enterprise", spec.key)
            industry_label, _ = INDUSTRIES[spec.industry]
            enterprise, created = _upsert(
                Enterprise,
                uscc=demo_uscc(spec.key, park_spec.division_code),
                defaults={
                    "park": self.parks[spec.park],
                    "name_zh": spec.name_zh,
                    "name_en": spec.name_en,
                    "latitude": _coord(park_spec.latitude + rng.uniform(-0.02, 0.02)),
                    "longitude": _coord(park_spec.longitude + rng.uniform(-0.025, 0.025)),
                    "industry": industry_label,
                    "hazchem_licence_no": (
                        f"（浙）WH安许证字〔{2019 + rng.randrange(6)}〕{200 + number:04d}"
                    ),
                    "is_active": True,
                },
            )
            self.enterprises[spec.key] = enterprise
            self.report.count("enterprises", created=created)

    # Users -------------------------------------------------------------------------------------

    def _user(self, username: str, *, superuser: bool = False) -> Any:
        user, created = get_user_model().objects.update_or_create(
            username=username,
            defaults={
                "password": self.password_hash,
                "is_staff": True,
                "is_superuser": superuser,
                "is_active": True,
            },
        )
        self.users[username] = user
        self.report.count("users", created=created)
        return user

    def build_users(self) -> None:
        self._user(SUPERUSER_NAME, superuser=True)
        self.report.superuser = Account(SUPERUSER_NAME, DEMO_PASSWORD, "superuser", None, [])
        for park_spec in PARKS:
            code = park_spec.code
            self._park_role(f"{code}.operator", ParkRoleKind.OPERATOR, (code,))
            self._park_role(f"{code}.regulator", ParkRoleKind.REGULATOR, (code,))
        username, park_codes = CITY_REGULATOR
        self._park_role(username, ParkRoleKind.REGULATOR, park_codes)
        for spec in ENTERPRISES:
            roles = (
                list(ENTERPRISE_ROLE_SUFFIX)
                if spec.full_staff
                else [EnterpriseRole(role) for role in sorted(ADMIN_ROLES)]
            )
            enterprise = self.enterprises[spec.key]
            for role in roles:
                username = f"{spec.key}.{ENTERPRISE_ROLE_SUFFIX[role]}"
                user = self._user(username)
                _, created = Membership.objects.update_or_create(
                    user=user, defaults={"enterprise": enterprise, "role": role}
                )
                self.report.count("memberships", created=created)
                self.report.accounts.append(
                    Account(username, DEMO_PASSWORD, str(role), enterprise.uscc, [])
                )

    def _park_role(self, username: str, kind: str, park_codes: tuple[str, ...]) -> None:
        user = self._user(username)
        for code in park_codes:
            _, created = ParkRole.objects.get_or_create(user=user, park=self.parks[code], role=kind)
            self.report.count("park_roles", created=created)
        self.report.accounts.append(
            Account(username, DEMO_PASSWORD, str(kind), None, list(park_codes))
        )

    # Warehouses and zones ----------------------------------------------------------------------

    def _warehouse(
        self,
        *,
        code: str,
        name: str,
        park: Park,
        owner: Enterprise | None,
        latitude: Decimal,
        longitude: Decimal,
        address: str,
    ) -> Warehouse:
        warehouse, created = _upsert(
            Warehouse,
            code=code,
            defaults={
                "name": name,
                "park": park,
                "owner": owner,
                "latitude": latitude,
                "longitude": longitude,
                "address": address,
            },
        )
        self.report.count("warehouses", created=created)
        return warehouse

    def _zone(
        self, warehouse: Warehouse, *, code: str, kind: str, building: str, capacity_t: int
    ) -> StorageZone:
        spec = ZONE_KINDS[kind]
        zone, created = _upsert(
            StorageZone,
            warehouse=warehouse,
            code=code,
            defaults={
                "name": spec.name,
                "building": building,
                "capacity_kg": Decimal(capacity_t) * KG_PER_T,
                "allowed_classes": list(spec.allowed_classes),
            },
        )
        self.report.count("zones", created=created)
        return zone

    def build_warehouses(self) -> None:
        for spec in PARKS:
            park = self.parks[spec.code]
            rng = _rng("shared-warehouses", spec.code)
            zones: list[StorageZone] = []
            if spec.shared_warehouses == 1:
                # One warehouse takes the zones of both phases (their buildings differ).
                groups = [(SHARED_WAREHOUSES[0][0], SHARED_WAREHOUSES[0][1],
                           SHARED_WAREHOUSES[0][2] + SHARED_WAREHOUSES[1][2])]  # fmt: skip
            else:
                groups = list(SHARED_WAREHOUSES)
            for number, (suffix, name, zone_rows) in enumerate(groups, start=1):
                warehouse = self._warehouse(
                    code=f"{spec.code}-{suffix}",
                    name=f"{spec.name_zh}{name}",
                    park=park,
                    owner=None,
                    latitude=_coord(spec.latitude + rng.uniform(-0.01, 0.01)),
                    longitude=_coord(spec.longitude + rng.uniform(-0.01, 0.01)),
                    address=f"{spec.name_zh}公共仓储路{number * 8}号",
                )
                for kind, index, building, capacity_t in zone_rows:
                    zones.append(
                        self._zone(
                            warehouse,
                            code=f"{kind}-{index:02d}",
                            kind=kind,
                            building=building,
                            capacity_t=capacity_t,
                        )
                    )
            self.shared_zones[spec.code] = zones
        for enterprise_spec in ENTERPRISES:
            self.own_zones[enterprise_spec.key] = []
            if not enterprise_spec.private_warehouse:
                continue
            enterprise = self.enterprises[enterprise_spec.key]
            _, portfolio = INDUSTRIES[enterprise_spec.industry]
            # A zone per kind for the materials that share one, and a zone of its own for
            # each material that keeps apart from itself.
            zones_of_kind: dict[str, int] = {}
            sharing_kinds: set[str] = set()
            for key in portfolio:
                chemical = self.chemicals[key]
                kind = storage_kind(chemical)
                if keeps_apart_from_itself(chemical):
                    zones_of_kind[kind] = zones_of_kind.get(kind, 0) + 1
                else:
                    sharing_kinds.add(kind)
            for kind in sharing_kinds:
                zones_of_kind[kind] = zones_of_kind.get(kind, 0) + 1
            rng = _rng("private-warehouse", enterprise_spec.key)
            warehouse = self._warehouse(
                code=f"{enterprise_spec.key}-wh",
                name=f"{enterprise_spec.name_zh}厂区仓库",
                park=enterprise.park,
                owner=enterprise,
                latitude=_coord(float(enterprise.latitude) + rng.uniform(-0.003, 0.003)),
                longitude=_coord(float(enterprise.longitude) + rng.uniform(-0.003, 0.003)),
                address=f"{enterprise.park.name_zh}化工路{rng.randrange(1, 300)}号",
            )
            for kind, count in sorted(zones_of_kind.items()):
                zone_spec = ZONE_KINDS[kind]
                for number in range(1, count + 1):
                    self.own_zones[enterprise_spec.key].append(
                        self._zone(
                            warehouse,
                            code=kind if number == 1 else f"{kind}-{number}",
                            kind=kind,
                            building=zone_spec.building,
                            capacity_t=zone_spec.capacity_t // (1 if number == 1 else 2),
                        )
                    )

    # Stock, listings -----------------------------------------------------------------------

    def _candidate_zones(
        self, spec: EnterpriseSpec, chemical: Chemical, *, shared_first: bool
    ) -> list[StorageZone]:
        """Zones the enterprise may store ``chemical`` in and that are licensed for it, in
        the order to try: its kind's zones first (own or shared first, as asked), then the
        zones of the kinds it falls back to."""
        own = self.own_zones[spec.key]
        shared = self.shared_zones[spec.park]
        groups = (shared, own) if shared_first else (own, shared)
        classes = hazard_profile(chemical).classes
        out: list[StorageZone] = []
        for kind in FALLBACK_KINDS[storage_kind(chemical)]:
            for zones in groups:
                out.extend(
                    z
                    for z in zones
                    if z.code.split("-")[0] == kind and all(c in z.allowed_classes for c in classes)
                )
        return out

    def _staff(self, spec: EnterpriseSpec, *preferred: str) -> Scope:
        """The Scope of the enterprise's first ``preferred`` member there is (else its
        admin, whom every demo enterprise has), resolved once for the whole build."""
        for suffix in (*preferred, "admin"):
            username = f"{spec.key}.{suffix}"
            user = self.users.get(username)
            if user is not None:
                if username not in self.scopes:
                    self.scopes[username] = resolve_scope(user)
                return self.scopes[username]
        raise LookupError(f"no demo staff for {spec.key}")

    def build_stock(self) -> None:
        for spec in ENTERPRISES:
            enterprise = self.enterprises[spec.key]
            _, portfolio = INDUSTRIES[spec.industry]
            keeper = self._staff(spec, "keeper")
            for key in portfolio:
                chemical = self.chemicals[key]
                lots_of_material = 1
                if not keeps_apart_from_itself(chemical):
                    lots_of_material += _rng("lot-count", spec.key, key).random() < 0.25
                for number in range(1, lots_of_material + 1):
                    batch_no = demo_batch_no(spec.key, chemical, number)
                    if StockLot.objects.filter(owner=enterprise, batch_no=batch_no).exists():
                        self.report.count("lots", created=False)
                        continue
                    lot = self._receive(spec, enterprise, key, batch_no, actor=keeper)
                    if lot is not None:
                        self._maybe_list(spec, enterprise, key, lot)

    def _receive(
        self, spec: EnterpriseSpec, enterprise: Enterprise, key: str, batch_no: str, *, actor: Scope
    ) -> StockLot | None:
        chemical = self.chemicals[key]
        material = self.materials[key]
        rng = _rng("lot", batch_no)
        low, high = LOT_RANGE_T_BY_MATERIAL.get(key, LOT_RANGE_T[storage_kind(chemical)])
        # Whole hundreds of kilograms, at least 100 kg.
        quantity_kg = Decimal(max(1, round(rng.uniform(low, high) * 10)) * 100)
        produced_on = self.today - timedelta(days=rng.randint(3, 240))
        shelf_life = SHELF_LIFE_DAYS.get(key)
        expires_on = produced_on + timedelta(days=shelf_life) if shelf_life else None
        if key in FUEL_GRADES:
            grade, purity = rng.choice(FUEL_GRADES[key]), None
        elif not has_purity(chemical):
            grade, purity = rng.choice(GRADES[1:]), None
        else:
            grade = rng.choice(GRADES)
            low_p, high_p = PURITY_BY_GRADE[grade]
            purity = Decimal(f"{rng.uniform(low_p, high_p):.2f}")
        shared_first = not spec.private_warehouse or rng.random() < 0.3
        for zone in self._candidate_zones(spec, chemical, shared_first=shared_first):
            try:
                lot = stock_receive(
                    actor=actor,
                    owner=enterprise,
                    material=material,
                    zone=zone,
                    quantity_kg=quantity_kg,
                    batch_no=batch_no,
                    purity_pct=purity,
                    grade=grade,
                    produced_on=produced_on,
                    expires_on=expires_on,
                    reference=f"demo:{batch_no}",
                    note="演示数据期初入库 / demo opening stock",
                )
            except DomainError:
                self.report.receipts_refused += 1
                continue
            self.report.count("lots", created=True)
            return lot
        self.report.lots_left_out.append(batch_no)
        return None

    def _maybe_list(
        self, spec: EnterpriseSpec, enterprise: Enterprise, key: str, lot: StockLot
    ) -> None:
        rng = _rng("listing", lot.batch_no)
        price = REFERENCE_PRICE.get(key)
        if price is None or rng.random() >= 0.45:
            return
        if lot.expires_on is not None and lot.expires_on < self.today + timedelta(days=30):
            return  # not worth offering
        fraction = Decimal(str(rng.choice((0.25, 0.4, 0.5, 0.6, 0.75, 1.0))))
        quantity_kg = (lot.on_hand_kg * fraction / 100).to_integral_value(ROUND_DOWN) * 100
        if quantity_kg <= 0:
            quantity_kg = lot.on_hand_kg
        min_order_kg = Decimal(0)
        if rng.random() < 0.5:
            min_order_kg = min(quantity_kg, Decimal(rng.choice((500, 1000, 5000, 10000))))
        until = None
        if rng.random() < 0.7:
            until = self.today + timedelta(days=rng.randint(30, 180))
        if lot.expires_on is not None and (until is None or until > lot.expires_on):
            until = lot.expires_on
        roll = rng.random()
        visibility = VISIBILITIES[-1][0]
        for name, share in VISIBILITIES:
            if roll < share:
                visibility = name
                break
            roll -= share
        publish = rng.random() >= 0.15
        listing = listing_create(
            actor=self._staff(spec, "trader"),
            seller=enterprise,
            lot=lot,
            quantity_kg=quantity_kg,
            price_per_t=(Decimal(price) * Decimal(str(rng.uniform(0.85, 1.1)))).quantize(
                Decimal(1)
            ),
            available_from=self.today - timedelta(days=rng.randint(0, 30)),
            min_order_kg=min_order_kg,
            available_until=until,
            visibility=visibility,
            note=rng.choice(LISTING_NOTES),
            publish=publish,
        )
        self.report.count("listings", created=True)
        if publish and rng.random() < 0.04:
            listing_withdraw(actor=self._staff(spec, "trader"), listing=listing)

    # Needs ----------------------------------------------------------------------------------

    def build_needs(self) -> None:
        pool = sorted(
            {key for _, (_, keys) in INDUSTRIES.items() for key in keys if key in REFERENCE_PRICE}
        )
        substitutes: dict[str, list[str]] = {}
        for a, b in SUBSTITUTE_PAIRS:
            substitutes.setdefault(a, []).append(b)
            substitutes.setdefault(b, []).append(a)
        for number in range(1, NEED_COUNT + 1):
            tag = f"[demo-need-{number:03d}]"
            if Need.objects.filter(note__startswith=tag).exists():
                self.report.count("needs", created=False)
                continue
            rng = _rng("need", number)
            spec = ENTERPRISES[(number * 17) % len(ENTERPRISES)]
            enterprise = self.enterprises[spec.key]
            # About a third ask for a material that has substitutes, so that some accept them.
            with_substitute = sorted(k for k in pool if k in substitutes)
            key = rng.choice(with_substitute if rng.random() < 0.3 else pool)
            chemical = self.chemicals[key]
            low, high = LOT_RANGE_T_BY_MATERIAL.get(key, LOT_RANGE_T[storage_kind(chemical)])
            quantity_kg = Decimal(max(1, round(rng.uniform(low, high) * 5)) * 100)
            delivery: dict[str, Any] = {}
            zones = self._candidate_zones(spec, chemical, shared_first=False)
            if zones and rng.random() < 0.5:
                delivery["delivery_zone"] = zones[0]
            else:
                delivery["delivery_latitude"] = _coord(
                    float(enterprise.latitude) + rng.uniform(-0.004, 0.004)
                )
                delivery["delivery_longitude"] = _coord(
                    float(enterprise.longitude) + rng.uniform(-0.004, 0.004)
                )
            min_purity = None
            if has_purity(chemical) and rng.random() < 0.3:
                min_purity = Decimal(rng.choice(("99.00", "99.50", "99.90")))
            max_price = None
            if rng.random() < 0.6:
                max_price = (
                    Decimal(REFERENCE_PRICE[key]) * Decimal(str(rng.uniform(0.95, 1.2)))
                ).quantize(Decimal(1))
            max_distance = rng.choice((None, None, Decimal(30), Decimal(60), Decimal(150)))
            subs = [self.materials[k] for k in substitutes.get(key, []) if rng.random() < 0.8]
            actor = self._staff(spec, "trader")
            need = need_create(
                actor=actor,
                enterprise=enterprise,
                material=self.materials[key],
                quantity_kg=quantity_kg,
                needed_by=self.today + timedelta(days=rng.randint(7, 120)),
                max_price_per_t=max_price,
                max_distance_km=max_distance,
                min_purity_pct=min_purity,
                substitutes=subs,
                note=f"{tag} {rng.choice(NEED_NOTES)}",
                **delivery,
            )
            self.report.count("needs", created=True)
            if number % 13 == 0:
                need_close(actor=actor, need=need)

    # Permits to buy controlled chemicals ---------------------------------------------------

    def _permit(self, spec: EnterpriseSpec, *, kind: str, number: str, **terms: Any) -> None:
        enterprise = self.enterprises[spec.key]
        if Permit.objects.filter(enterprise=enterprise, kind=kind, number=number).exists():
            self.report.count("permits", created=False)
            return
        permit_create(
            actor=self._staff(spec), enterprise=enterprise, kind=kind, number=number, **terms
        )
        self.report.count("permits", created=True)

    def build_permits(self) -> None:
        """Every demo enterprise holds a hazardous-chemicals licence (a safety production
        licence, numbered as its ``hazchem_licence_no``; traders and storage companies a
        business licence), which lets it buy highly toxic chemicals and explosive
        precursors; one that handles or needs drug precursors (its industry's materials,
        its needs and their substitutes) holds a filing certificate naming them. All valid
        today, so that orders of the demo's controlled materials go through."""
        needed: dict[int, set[int]] = {}
        for need in Need.objects.prefetch_related("substitutes"):
            ids = needed.setdefault(need.enterprise_id, set())
            ids.add(need.material_id)
            ids.update(m.pk for m in need.substitutes.all())
        drug_precursors = {
            self.materials[cas].pk
            for cas, flags in CONTROLS.items()
            if cas in self.materials and any(flag.category for flag in flags)
        }
        for number, spec in enumerate(ENTERPRISES, start=1):
            enterprise = self.enterprises[spec.key]
            rng = _rng("permits", spec.key)
            licence_from = self.today - timedelta(days=rng.randint(30, 900))
            if spec.industry in ("solvents_trading", "hazmat_logistics"):
                city = "甬" if spec.park != "shangyu" else "绍"
                self._permit(
                    spec,
                    kind=PermitKind.BUSINESS_LICENCE,
                    number=f"浙{city}安经字〔{licence_from.year}〕{300000 + number:06d}",
                    valid_from=licence_from,
                    expires_on=licence_from + timedelta(days=3 * 365),
                )
            else:
                self._permit(
                    spec,
                    kind=PermitKind.SAFETY_PRODUCTION_LICENCE,
                    number=enterprise.hazchem_licence_no,
                    valid_from=licence_from,
                    expires_on=licence_from + timedelta(days=3 * 365),
                )
            _, portfolio = INDUSTRIES[spec.industry]
            handled = {self.materials[key].pk for key in portfolio} | needed.get(
                enterprise.pk, set()
            )
            covered = sorted(handled & drug_precursors)
            if covered:
                filed_on = self.today - timedelta(days=rng.randint(0, 60))
                self._permit(
                    spec,
                    kind=PermitKind.DRUG_PRECURSOR_FILING_CERTIFICATE,
                    number=f"浙公易备〔{filed_on.year}〕{5000 + number:05d}",
                    valid_from=filed_on,
                    expires_on=filed_on + timedelta(days=364),
                    materials=covered,
                )


@transaction.atomic
def build_world(*, today: date | None = None) -> WorldReport:
    """Build or refresh the demo world in one transaction; see the module docstring.

    Dates are relative to ``today`` (default: the local date). Publishing checks listing
    windows against the clock, so ``today`` must not be in the past.

    Stock and marketplace writes go through their services, which emit outbox events;
    those are dispatched after the commit of this transaction.
    """
    builder = _Builder(today=today or timezone.localdate())
    builder.build_parks()
    builder.build_materials()
    builder.build_enterprises()
    builder.build_users()
    builder.build_warehouses()
    builder.build_stock()
    builder.report.existing["listings"] = Listing.objects.filter(
        lot__batch_no__startswith=BATCH_PREFIX
    ).count() - builder.report.created.get("listings", 0)
    builder.build_needs()
    builder.build_permits()
    return builder.report
