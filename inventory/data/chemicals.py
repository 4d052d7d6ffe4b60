"""The material catalogue as data: industrial chemicals common in Chinese petrochemical parks.

Each entry gives what inventory.models.Material stores. Sources and conventions:

* UN number, primary and subsidiary classes: the Dangerous Goods List of the UN Model
  Regulations (Recommendations on the Transport of Dangerous Goods). Where the list has
  entries by concentration, the name says which one is meant (e.g. nitric acid 68 %).
* physical_state: as stored; liquefied and refrigerated-liquid gases count as gas.
* family: the families the segregation pair rules name (inventory.hazards.PAIR_RULES).
  Aqueous ammonia is given the ammonia family too: keeping it away from chlorine is the
  stricter reading of "ammonia never with chlorine".
* density_kg_per_l: near 20 °C, only for liquids whose density is well known (so that
  quantities in L and m³ are accepted); none for gases and for mixtures of varying make-up.
* gb18218_threshold_t / gb18218_category: see inventory.data.gb18218. A chemical named in
  Table 1 carries its named Q and no category; others carry the category of Table 2 they
  fall into when stored at ambient conditions (flammable liquids: W5.3 for GHS category 2,
  W5.4 for category 3); blank where neither applies or the category is not certain.

Materials that are not dangerous goods have an empty class and no UN number.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Chemical:
    name_zh: str
    name_en: str
    cas: str | None
    un_number: str
    primary_class: str
    subsidiary_classes: tuple[str, ...] = ()
    physical_state: str = "liquid"
    family: str = ""
    density_kg_per_l: Decimal | None = None
    default_unit: str = "t"
    gb18218_threshold_t: Decimal | None = None
    gb18218_category: str = ""
    aliases: tuple[str, ...] = field(default=(), compare=False)

    def material_fields(self) -> dict[str, Any]:
        """The inventory.models.Material fields of this entry (CAS excluded)."""
        return {
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "un_number": self.un_number,
            "primary_class": self.primary_class,
            "subsidiary_classes": list(self.subsidiary_classes),
            "physical_state": self.physical_state,
            "family": self.family,
            "density_kg_per_l": self.density_kg_per_l,
            "default_unit": self.default_unit,
            "gb18218_threshold_t": self.gb18218_threshold_t,
            "gb18218_category": self.gb18218_category,
        }


D = Decimal
GAS, LIQUID, SOLID = "gas", "liquid", "solid"

# The table layout is kept by hand: one entry, one or two lines.
# fmt: off
CATALOGUE: tuple[Chemical, ...] = (
    # --- Gases (compressed, liquefied or refrigerated liquid) ----------------------------
    Chemical("液氯", "Chlorine", "7782-50-5", "UN1017", "2.3", ("5.1", "8"), GAS,
             family="chlorine", gb18218_threshold_t=D("5"), aliases=("氯", "氯气")),
    Chemical("液氨", "Ammonia, anhydrous", "7664-41-7", "UN1005", "2.3", ("8",), GAS,
             family="ammonia", gb18218_threshold_t=D("10"), aliases=("氨", "氨气")),
    Chemical("氢气", "Hydrogen, compressed", "1333-74-0", "UN1049", "2.1", (), GAS,
             default_unit="kg", gb18218_threshold_t=D("5"), aliases=("氢",)),
    Chemical("液化石油气", "Liquefied petroleum gas", "68476-85-7", "UN1075", "2.1", (), GAS,
             gb18218_threshold_t=D("50"), aliases=("LPG", "石油气（液化的）")),
    Chemical("甲烷（天然气）", "Methane / natural gas, compressed", "74-82-8", "UN1971", "2.1",
             (), GAS, gb18218_threshold_t=D("50"), aliases=("天然气", "甲烷")),
    Chemical("乙烯", "Ethylene", "74-85-1", "UN1962", "2.1", (), GAS,
             gb18218_threshold_t=D("50")),
    Chemical("硫化氢", "Hydrogen sulfide", "7783-06-4", "UN1053", "2.3", ("2.1",), GAS,
             default_unit="kg", gb18218_threshold_t=D("5")),
    Chemical("光气", "Phosgene", "75-44-5", "UN1076", "2.3", ("8",), GAS,
             default_unit="kg", gb18218_threshold_t=D("0.3"), aliases=("碳酰氯",)),
    Chemical("环氧乙烷", "Ethylene oxide", "75-21-8", "UN1040", "2.3", ("2.1",), GAS,
             gb18218_threshold_t=D("10"), aliases=("氧化乙烯",)),
    Chemical("乙炔（溶解的）", "Acetylene, dissolved", "74-86-2", "UN1001", "2.1", (), GAS,
             default_unit="kg", gb18218_threshold_t=D("1"), aliases=("乙炔", "电石气")),
    Chemical("液氧", "Oxygen, refrigerated liquid", "7782-44-7", "UN1073", "2.2", ("5.1",),
             GAS, gb18218_threshold_t=D("200"), aliases=("氧", "氧气")),
    Chemical("丙烯", "Propylene", "115-07-1", "UN1077", "2.1", (), GAS,
             gb18218_threshold_t=D("10"), gb18218_category="W2"),
    Chemical("乙烷", "Ethane", "74-84-0", "UN1035", "2.1", (), GAS,
             gb18218_threshold_t=D("10"), gb18218_category="W2"),
    Chemical("1,3-丁二烯（稳定的）", "1,3-Butadiene, stabilized", "106-99-0", "UN1010", "2.1",
             (), GAS, gb18218_threshold_t=D("5"), aliases=("丁二烯",)),
    Chemical("氯乙烯（稳定的）", "Vinyl chloride, stabilized", "75-01-4", "UN1086", "2.1", (),
             GAS, gb18218_threshold_t=D("50")),
    Chemical("二甲醚", "Dimethyl ether", "115-10-6", "UN1033", "2.1", (), GAS,
             gb18218_threshold_t=D("50"), aliases=("甲醚",)),
    Chemical("一甲胺（无水）", "Methylamine, anhydrous", "74-89-5", "UN1061", "2.1", (), GAS,
             gb18218_threshold_t=D("5"), aliases=("甲胺",)),
    Chemical("二氧化硫", "Sulfur dioxide", "7446-09-5", "UN1079", "2.3", ("8",), GAS,
             gb18218_threshold_t=D("20")),
    Chemical("一氧化碳", "Carbon monoxide, compressed", "630-08-0", "UN1016", "2.3", ("2.1",),
             GAS, default_unit="kg"),
    Chemical("液氮", "Nitrogen, refrigerated liquid", "7727-37-9", "UN1977", "2.2", (), GAS,
             aliases=("氮", "氮气")),
    Chemical("液态二氧化碳", "Carbon dioxide, refrigerated liquid", "124-38-9", "UN2187", "2.2",
             (), GAS, aliases=("二氧化碳",)),
    Chemical("液氩", "Argon, refrigerated liquid", "7440-37-1", "UN1951", "2.2", (), GAS,
             aliases=("氩", "氩气")),
    # --- Flammable liquids (class 3) -------------------------------------------------------
    Chemical("甲醇", "Methanol", "67-56-1", "UN1230", "3", ("6.1",), LIQUID,
             density_kg_per_l=D("0.791"), gb18218_threshold_t=D("500")),
    Chemical("苯", "Benzene", "71-43-2", "UN1114", "3", (), LIQUID,
             density_kg_per_l=D("0.879"), gb18218_threshold_t=D("50"), aliases=("纯苯",)),
    Chemical("甲苯", "Toluene", "108-88-3", "UN1294", "3", (), LIQUID,
             density_kg_per_l=D("0.867"), gb18218_threshold_t=D("500")),
    Chemical("汽油", "Gasoline", "86290-81-5", "UN1203", "3", (), LIQUID,
             density_kg_per_l=D("0.74"), gb18218_threshold_t=D("200"),
             aliases=("车用汽油", "乙醇汽油")),
    Chemical("二甲苯（混合）", "Xylenes, mixed isomers", "1330-20-7", "UN1307", "3", (), LIQUID,
             density_kg_per_l=D("0.864"), gb18218_threshold_t=D("5000"),
             gb18218_category="W5.4", aliases=("二甲苯",)),
    Chemical("对二甲苯", "p-Xylene", "106-42-3", "UN1307", "3", (), LIQUID,
             density_kg_per_l=D("0.861"), gb18218_threshold_t=D("5000"),
             gb18218_category="W5.4", aliases=("PX",)),
    Chemical("乙苯", "Ethylbenzene", "100-41-4", "UN1175", "3", (), LIQUID,
             density_kg_per_l=D("0.867"), gb18218_threshold_t=D("1000"),
             gb18218_category="W5.3"),
    Chemical("苯乙烯（稳定的）", "Styrene monomer, stabilized", "100-42-5", "UN2055", "3", (),
             LIQUID, density_kg_per_l=D("0.906"), gb18218_threshold_t=D("500"),
             aliases=("苯乙烯", "SM")),
    Chemical("异丙苯", "Cumene (isopropylbenzene)", "98-82-8", "UN1918", "3", (), LIQUID,
             density_kg_per_l=D("0.862"), gb18218_threshold_t=D("5000"),
             gb18218_category="W5.4"),
    Chemical("丙酮", "Acetone", "67-64-1", "UN1090", "3", (), LIQUID,
             density_kg_per_l=D("0.791"), gb18218_threshold_t=D("500")),
    Chemical("乙醇（无水）", "Ethanol", "64-17-5", "UN1170", "3", (), LIQUID,
             density_kg_per_l=D("0.789"), gb18218_threshold_t=D("500"), aliases=("酒精",)),
    Chemical("异丙醇", "Isopropanol", "67-63-0", "UN1219", "3", (), LIQUID,
             density_kg_per_l=D("0.786"), gb18218_threshold_t=D("1000"),
             gb18218_category="W5.3"),
    Chemical("正丁醇", "n-Butanol", "71-36-3", "UN1120", "3", (), LIQUID,
             density_kg_per_l=D("0.810"), gb18218_threshold_t=D("5000"),
             gb18218_category="W5.4"),
    Chemical("甲基叔丁基醚", "Methyl tert-butyl ether (MTBE)", "1634-04-4", "UN2398", "3", (),
             LIQUID, density_kg_per_l=D("0.740"), gb18218_threshold_t=D("1000"),
             gb18218_category="W5.3", aliases=("MTBE",)),
    Chemical("乙酸乙酯", "Ethyl acetate", "141-78-6", "UN1173", "3", (), LIQUID,
             density_kg_per_l=D("0.902"), gb18218_threshold_t=D("500")),
    Chemical("正己烷", "n-Hexane", "110-54-3", "UN1208", "3", (), LIQUID,
             density_kg_per_l=D("0.659"), gb18218_threshold_t=D("500")),
    Chemical("环己烷", "Cyclohexane", "110-82-7", "UN1145", "3", (), LIQUID,
             density_kg_per_l=D("0.779"), gb18218_threshold_t=D("500")),
    Chemical("环己酮", "Cyclohexanone", "108-94-1", "UN1915", "3", (), LIQUID,
             density_kg_per_l=D("0.947"), gb18218_threshold_t=D("5000"),
             gb18218_category="W5.4"),
    Chemical("乙醚", "Diethyl ether", "60-29-7", "UN1155", "3", (), LIQUID,
             density_kg_per_l=D("0.713"), default_unit="kg", gb18218_threshold_t=D("10")),
    Chemical("丁酮", "Methyl ethyl ketone (butanone)", "78-93-3", "UN1193", "3", (), LIQUID,
             density_kg_per_l=D("0.805"), gb18218_threshold_t=D("1000"),
             gb18218_category="W5.3", aliases=("甲乙酮", "MEK")),
    Chemical("甲基丙烯酸甲酯（稳定的）", "Methyl methacrylate monomer, stabilized", "80-62-6",
             "UN1247", "3", (), LIQUID, density_kg_per_l=D("0.944"),
             gb18218_threshold_t=D("1000"), gb18218_category="W5.3", aliases=("MMA",)),
    Chemical("乙酸乙烯酯（稳定的）", "Vinyl acetate, stabilized", "108-05-4", "UN1301", "3", (),
             LIQUID, density_kg_per_l=D("0.934"), gb18218_threshold_t=D("1000"),
             gb18218_category="W5.3", aliases=("醋酸乙烯", "VAc")),
    Chemical("丙烯酸正丁酯（稳定的）", "n-Butyl acrylate, stabilized", "141-32-2", "UN2348", "3",
             (), LIQUID, density_kg_per_l=D("0.898"), gb18218_threshold_t=D("5000"),
             gb18218_category="W5.4", aliases=("丙烯酸丁酯",)),
    Chemical("乙醛", "Acetaldehyde", "75-07-0", "UN1089", "3", (), LIQUID,
             density_kg_per_l=D("0.784"), gb18218_threshold_t=D("10"),
             gb18218_category="W5.1"),
    Chemical("N,N-二甲基甲酰胺", "N,N-Dimethylformamide (DMF)", "68-12-2", "UN2265", "3", (),
             LIQUID, density_kg_per_l=D("0.944"), gb18218_threshold_t=D("5000"),
             gb18218_category="W5.4", aliases=("DMF",)),
    Chemical("乙腈", "Acetonitrile", "75-05-8", "UN1648", "3", (), LIQUID,
             density_kg_per_l=D("0.786"), gb18218_threshold_t=D("1000"),
             gb18218_category="W5.3"),
    Chemical("四氢呋喃", "Tetrahydrofuran", "109-99-9", "UN2056", "3", (), LIQUID,
             density_kg_per_l=D("0.889"), gb18218_threshold_t=D("1000"),
             gb18218_category="W5.3", aliases=("THF",)),
    Chemical("氯苯", "Chlorobenzene", "108-90-7", "UN1134", "3", (), LIQUID,
             density_kg_per_l=D("1.106"), gb18218_threshold_t=D("5000"),
             gb18218_category="W5.4"),
    Chemical("1,2-环氧丙烷", "Propylene oxide", "75-56-9", "UN1280", "3", (), LIQUID,
             density_kg_per_l=D("0.830"), gb18218_threshold_t=D("10"), aliases=("环氧丙烷",)),
    Chemical("丙烯腈（稳定的）", "Acrylonitrile, stabilized", "107-13-1", "UN1093", "3", ("6.1",),
             LIQUID, density_kg_per_l=D("0.806"), gb18218_threshold_t=D("50"),
             aliases=("丙烯腈",)),
    Chemical("二硫化碳", "Carbon disulfide", "75-15-0", "UN1131", "3", ("6.1",), LIQUID,
             density_kg_per_l=D("1.263"), gb18218_threshold_t=D("50")),
    Chemical("1,2-二氯乙烷", "1,2-Dichloroethane", "107-06-2", "UN1184", "3", ("6.1",), LIQUID,
             density_kg_per_l=D("1.253"), gb18218_threshold_t=D("1000"),
             gb18218_category="W5.3", aliases=("二氯乙烷", "EDC")),
    Chemical("三乙胺", "Triethylamine", "121-44-8", "UN1296", "3", ("8",), LIQUID,
             density_kg_per_l=D("0.726"), gb18218_threshold_t=D("1000"),
             gb18218_category="W5.3"),
    Chemical("柴油", "Diesel fuel", "68334-30-5", "UN1202", "3", (), LIQUID,
             density_kg_per_l=D("0.84"), aliases=("0号柴油",)),
    Chemical("煤油", "Kerosene", "8008-20-6", "UN1223", "3", (), LIQUID,
             density_kg_per_l=D("0.80")),
    Chemical("原油", "Crude oil (petroleum)", "8002-05-9", "UN1267", "3", (), LIQUID,
             aliases=("石油原油",)),
    # --- Toxic substances (class 6.1) ------------------------------------------------------
    Chemical("环氧氯丙烷", "Epichlorohydrin", "106-89-8", "UN2023", "6.1", ("3",), LIQUID,
             density_kg_per_l=D("1.181"), gb18218_threshold_t=D("20")),
    Chemical("二氯甲烷", "Dichloromethane", "75-09-2", "UN1593", "6.1", (), LIQUID,
             density_kg_per_l=D("1.326")),
    Chemical("三氯甲烷", "Chloroform", "67-66-3", "UN1888", "6.1", (), LIQUID,
             density_kg_per_l=D("1.489"), aliases=("氯仿",)),
    Chemical("四氯化碳", "Carbon tetrachloride", "56-23-5", "UN1846", "6.1", (), LIQUID,
             density_kg_per_l=D("1.594")),
    Chemical("苯胺", "Aniline", "62-53-3", "UN1547", "6.1", (), LIQUID,
             density_kg_per_l=D("1.022")),
    Chemical("硝基苯", "Nitrobenzene", "98-95-3", "UN1662", "6.1", (), LIQUID,
             density_kg_per_l=D("1.204")),
    Chemical("甲苯二异氰酸酯", "Toluene diisocyanate (TDI)", "26471-62-5", "UN2078", "6.1", (),
             LIQUID, density_kg_per_l=D("1.22"), gb18218_threshold_t=D("100"),
             aliases=("TDI",)),
    Chemical("氰化氢（稳定的）", "Hydrogen cyanide, stabilized", "74-90-8", "UN1051", "6.1",
             ("3",), LIQUID, family="cyanide", default_unit="kg",
             gb18218_threshold_t=D("1"), aliases=("无水氢氰酸",)),
    Chemical("氰化钠", "Sodium cyanide, solid", "143-33-9", "UN1689", "6.1", (), SOLID,
             family="cyanide", default_unit="kg"),
    Chemical("氰化钾", "Potassium cyanide, solid", "151-50-8", "UN1680", "6.1", (), SOLID,
             family="cyanide", default_unit="kg"),
    Chemical("苯酚", "Phenol, solid", "108-95-2", "UN1671", "6.1", (), SOLID,
             aliases=("石炭酸",)),
    # --- Corrosives (class 8) --------------------------------------------------------------
    Chemical("硫酸（98%）", "Sulfuric acid (98%)", "7664-93-9", "UN1830", "8", (), LIQUID,
             family="acid", density_kg_per_l=D("1.84"), aliases=("硫酸",)),
    Chemical("盐酸（31%）", "Hydrochloric acid (31%)", "7647-01-0", "UN1789", "8", (), LIQUID,
             family="acid", density_kg_per_l=D("1.155"), aliases=("盐酸",)),
    Chemical("硝酸（68%）", "Nitric acid (68%)", "7697-37-2", "UN2031", "8", ("5.1",), LIQUID,
             family="acid", density_kg_per_l=D("1.405"), gb18218_threshold_t=D("200"),
             gb18218_category="W9.2", aliases=("硝酸",)),
    Chemical("磷酸（85%）", "Phosphoric acid (85%)", "7664-38-2", "UN1805", "8", (), LIQUID,
             family="acid", density_kg_per_l=D("1.685"), aliases=("磷酸",)),
    Chemical("氢氟酸（55%）", "Hydrofluoric acid (55%)", "7664-39-3", "UN1790", "8", ("6.1",),
             LIQUID, family="acid", aliases=("氢氟酸",)),
    Chemical("冰乙酸", "Acetic acid, glacial", "64-19-7", "UN2789", "8", ("3",), LIQUID,
             family="acid", density_kg_per_l=D("1.049"), gb18218_threshold_t=D("5000"),
             gb18218_category="W5.4", aliases=("冰醋酸", "乙酸", "醋酸")),
    Chemical("甲酸（98%）", "Formic acid (98%)", "64-18-6", "UN1779", "8", ("3",), LIQUID,
             family="acid", density_kg_per_l=D("1.22"), aliases=("甲酸", "蚁酸")),
    Chemical("丙烯酸（稳定的）", "Acrylic acid, stabilized", "79-10-7", "UN2218", "8", ("3",),
             LIQUID, family="acid", density_kg_per_l=D("1.051"),
             gb18218_threshold_t=D("5000"), gb18218_category="W5.4", aliases=("丙烯酸",)),
    Chemical("氢氧化钠溶液（32%）", "Sodium hydroxide solution (32%)", "1310-73-2", "UN1824",
             "8", (), LIQUID, density_kg_per_l=D("1.35"), aliases=("液碱", "烧碱溶液")),
    Chemical("氢氧化钾", "Potassium hydroxide, solid", "1310-58-3", "UN1813", "8", (), SOLID,
             aliases=("苛性钾",)),
    Chemical("次氯酸钠溶液", "Sodium hypochlorite solution", "7681-52-9", "UN1791", "8", (),
             LIQUID, aliases=("次氯酸钠",)),
    Chemical("甲醛溶液（37%）", "Formaldehyde solution (37%)", "50-00-0", "UN2209", "8", (),
             LIQUID, density_kg_per_l=D("1.09"), aliases=("福尔马林", "甲醛")),
    Chemical("氨水（25%）", "Ammonia solution (25%)", "1336-21-6", "UN2672", "8", (), LIQUID,
             family="ammonia", density_kg_per_l=D("0.91"), aliases=("氨水",)),
    Chemical("溴", "Bromine", "7726-95-6", "UN1744", "8", ("6.1",), LIQUID,
             density_kg_per_l=D("3.10"), default_unit="kg", gb18218_threshold_t=D("20"),
             aliases=("溴素",)),
    # --- Oxidizers (class 5.1) -------------------------------------------------------------
    Chemical("过氧化氢溶液（27.5%）", "Hydrogen peroxide solution (27.5%)", "7722-84-1",
             "UN2014", "5.1", ("8",), LIQUID, density_kg_per_l=D("1.10"),
             aliases=("双氧水", "过氧化氢")),
    Chemical("氯酸钠", "Sodium chlorate", "7775-09-9", "UN1495", "5.1", (), SOLID,
             gb18218_threshold_t=D("100")),
    Chemical("高锰酸钾", "Potassium permanganate", "7722-64-7", "UN1490", "5.1", (), SOLID,
             default_unit="kg", gb18218_threshold_t=D("200"), gb18218_category="W9.2"),
    Chemical("亚硝酸钠", "Sodium nitrite", "7632-00-0", "UN1500", "5.1", ("6.1",), SOLID,
             gb18218_threshold_t=D("200"), gb18218_category="W9.2"),
    Chemical("硝酸铵", "Ammonium nitrate (≤0.2% combustible)", "6484-52-2", "UN1942", "5.1",
             (), SOLID, gb18218_threshold_t=D("50")),
    # --- Flammable solids, spontaneously combustible, dangerous when wet (4.1-4.3) --------
    Chemical("硫磺", "Sulfur", "7704-34-9", "UN1350", "4.1", (), SOLID, aliases=("硫",)),
    Chemical("萘", "Naphthalene, refined", "91-20-3", "UN1334", "4.1", (), SOLID,
             aliases=("精萘",)),
    Chemical("黄磷", "Phosphorus, white (yellow), under water", "12185-10-3", "UN1381", "4.2",
             ("6.1",), SOLID, gb18218_threshold_t=D("50"), aliases=("白磷",)),
    Chemical("金属钠", "Sodium", "7440-23-5", "UN1428", "4.3", (), SOLID, default_unit="kg",
             gb18218_threshold_t=D("10"), aliases=("钠",)),
    Chemical("碳化钙", "Calcium carbide", "75-20-7", "UN1402", "4.3", (), SOLID,
             gb18218_threshold_t=D("100"), aliases=("电石",)),
    # --- Miscellaneous (class 9) -----------------------------------------------------------
    Chemical("可发性聚苯乙烯珠粒", "Polymeric beads, expandable (EPS)", None, "UN2211", "9", (),
             SOLID, aliases=("EPS",)),
    # --- Not dangerous goods ---------------------------------------------------------------
    Chemical("乙二醇", "Ethylene glycol", "107-21-1", "", "", (), LIQUID,
             density_kg_per_l=D("1.113"), aliases=("MEG",)),
    Chemical("2-乙基己醇", "2-Ethylhexanol", "104-76-7", "", "", (), LIQUID,
             density_kg_per_l=D("0.833"), aliases=("异辛醇",)),
    Chemical("精对苯二甲酸", "Purified terephthalic acid (PTA)", "100-21-0", "", "", (), SOLID,
             aliases=("PTA", "对苯二甲酸")),
    Chemical("聚乙烯", "Polyethylene", "9002-88-4", "", "", (), SOLID, aliases=("PE",)),
    Chemical("聚丙烯", "Polypropylene", "9003-07-0", "", "", (), SOLID, aliases=("PP",)),
    Chemical("工业盐", "Sodium chloride (industrial salt)", "7647-14-5", "", "", (), SOLID,
             aliases=("氯化钠",)),
    Chemical("纯碱", "Sodium carbonate (soda ash)", "497-19-8", "", "", (), SOLID,
             aliases=("碳酸钠",)),
    Chemical("尿素", "Urea", "57-13-6", "", "", (), SOLID),
    Chemical("硫酸铵", "Ammonium sulfate", "7783-20-2", "", "", (), SOLID),
    Chemical("己内酰胺", "Caprolactam", "105-60-2", "", "", (), SOLID),
)
# fmt: on

BY_CAS: dict[str, Chemical] = {c.cas: c for c in CATALOGUE if c.cas}
BY_NAME_EN: dict[str, Chemical] = {c.name_en: c for c in CATALOGUE}
