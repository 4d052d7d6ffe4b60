"""GB 18218-2018 "Identification of major hazard installations for hazardous chemicals".

Source: GB 18218-2018 (in force since 2019-03-01), Table 1 (named chemicals and their
critical quantities Q), Table 2 (categories of chemicals not named in Table 1), Table 3
(correction factor β of named toxic gases), Table 4 (β by category) and Table 5 (α by the
number of people within 500 m). The values of ``DOMAIN_NAMED_THRESHOLDS_T``, the category
thresholds, the β values and α are those of the project's domain reference
(shared/domain.md). ``FURTHER_NAMED_THRESHOLDS_T`` holds further Table 1 entries for
chemicals of the catalogue; they are to be confirmed against the published text, like
β of J2 (see ``TO_CONFIRM``). Materials copy their threshold into an editable column, so a
correction does not need a release.

How the tables are used (GB 18218-2018, 4.2 and 4.3):

* S = Σ q_i / Q_i over the hazardous chemicals of one unit (quantities in tonnes); S ≥ 1 makes
  the unit a major hazard installation. Table 1 takes precedence over Table 2: a named
  chemical uses its named Q, any other its category's Q; with several categories, the lowest.
* R = α · Σ β_i q_i / Q_i grades it: level 1 R ≥ 100, level 2 50 ≤ R < 100, level 3
  10 ≤ R < 50, level 4 R < 10.
"""

from decimal import Decimal

SOURCE_NOTE = (
    "GB 18218-2018 Identification of major hazard installations for hazardous chemicals, "
    "Tables 1-5; named values beyond the project's domain reference are to be confirmed."
)

# Table 1, the entries the domain reference names. CAS → critical quantity Q in tonnes.
DOMAIN_NAMED_THRESHOLDS_T: dict[str, Decimal] = {
    "7782-50-5": Decimal("5"),  # chlorine
    "7664-41-7": Decimal("10"),  # ammonia
    "1333-74-0": Decimal("5"),  # hydrogen
    "68476-85-7": Decimal("50"),  # liquefied petroleum gas
    "67-56-1": Decimal("500"),  # methanol
    "71-43-2": Decimal("50"),  # benzene
    "108-88-3": Decimal("500"),  # toluene
    "86290-81-5": Decimal("200"),  # gasoline (incl. ethanol and methanol gasoline)
    "74-82-8": Decimal("50"),  # methane, natural gas
    "74-85-1": Decimal("50"),  # ethylene
    "7783-06-4": Decimal("5"),  # hydrogen sulfide
    "75-44-5": Decimal("0.3"),  # phosgene (carbonyl dichloride)
    "75-21-8": Decimal("10"),  # ethylene oxide
    "74-86-2": Decimal("1"),  # acetylene
    "7782-44-7": Decimal("200"),  # oxygen (compressed or liquefied)
}

# Further Table 1 entries for chemicals of the catalogue (to confirm against the standard).
# A named entry overrides the category a chemical would otherwise fall into.
FURTHER_NAMED_THRESHOLDS_T: dict[str, Decimal] = {
    "7446-09-5": Decimal("20"),  # sulfur dioxide
    "74-90-8": Decimal("1"),  # hydrogen cyanide
    "7726-95-6": Decimal("20"),  # bromine
    "106-89-8": Decimal("20"),  # epichlorohydrin
    "26471-62-5": Decimal("100"),  # toluene diisocyanate
    "6484-52-2": Decimal("50"),  # ammonium nitrate, ≤ 0.2 % combustible substances
    "106-99-0": Decimal("5"),  # 1,3-butadiene
    "115-10-6": Decimal("50"),  # dimethyl ether
    "75-01-4": Decimal("50"),  # vinyl chloride
    "74-89-5": Decimal("5"),  # methylamine
    "100-42-5": Decimal("500"),  # styrene
    "67-64-1": Decimal("500"),  # acetone
    "107-13-1": Decimal("50"),  # acrylonitrile
    "75-15-0": Decimal("50"),  # carbon disulfide
    "110-82-7": Decimal("500"),  # cyclohexane
    "75-56-9": Decimal("10"),  # propylene oxide
    "64-17-5": Decimal("500"),  # ethanol
    "60-29-7": Decimal("10"),  # diethyl ether
    "141-78-6": Decimal("500"),  # ethyl acetate
    "110-54-3": Decimal("500"),  # n-hexane
    "12185-10-3": Decimal("50"),  # white (yellow) phosphorus
    "7775-09-9": Decimal("100"),  # sodium chlorate
    "75-20-7": Decimal("100"),  # calcium carbide
    "7440-23-5": Decimal("10"),  # sodium
}

NAMED_THRESHOLDS_T: dict[str, Decimal] = {
    **DOMAIN_NAMED_THRESHOLDS_T,
    **FURTHER_NAMED_THRESHOLDS_T,
}

# Table 2: categories of hazardous chemicals not named in Table 1 (those the domain
# reference lists). Category code → Q in tonnes; descriptions below.
CATEGORY_THRESHOLDS_T: dict[str, Decimal] = {
    "J1": Decimal("5"),  # acute toxicity cat. 1, all routes, gases
    "J2": Decimal("50"),  # acute toxicity cat. 1, all routes, liquids and solids
    "J3": Decimal("50"),  # acute toxicity cat. 2 and 3, all routes, gases
    "J4": Decimal("50"),  # acute toxicity cat. 2 and 3, inhalation, liquids boiling ≤ 35 °C
    "J5": Decimal("500"),  # acute toxicity cat. 2, all routes, other liquids and solids
    "W2": Decimal("10"),  # flammable gases cat. 1 and 2
    "W5.1": Decimal("10"),  # flammable liquids cat. 1; cat. 2-3 kept above boiling point
    "W5.2": Decimal("50"),  # flammable liquids cat. 2-3 under special process conditions
    "W5.3": Decimal("1000"),  # other flammable liquids cat. 2
    "W5.4": Decimal("5000"),  # other flammable liquids cat. 3
    "W9.1": Decimal("50"),  # oxidizing solids and liquids cat. 1
    "W9.2": Decimal("200"),  # oxidizing solids and liquids cat. 2 and 3
}

CATEGORY_DESCRIPTIONS: dict[str, str] = {
    "J1": "Acute toxicity category 1, all exposure routes, gases",
    "J2": "Acute toxicity category 1, all exposure routes, liquids and solids",
    "J3": "Acute toxicity categories 2 and 3, all exposure routes, gases",
    "J4": "Acute toxicity categories 2 and 3, inhalation, liquids boiling at or below 35 °C",
    "J5": "Acute toxicity category 2, all exposure routes, other liquids and solids",
    "W2": "Flammable gases, categories 1 and 2",
    "W5.1": "Flammable liquids category 1; categories 2 and 3 kept above their boiling point",
    "W5.2": "Flammable liquids categories 2 and 3 under special process conditions",
    "W5.3": "Flammable liquids category 2 not in W5.1 or W5.2",
    "W5.4": "Flammable liquids category 3 not in W5.1 or W5.2",
    "W9.1": "Oxidizing solids and liquids, category 1",
    "W9.2": "Oxidizing solids and liquids, categories 2 and 3",
}

# Table 3: correction factor β of named toxic gases. CAS → β. It applies to the gas: a
# solution that shares the CAS number (hydrochloric acid, hydrofluoric acid) is not a
# toxic gas of the standard and has no threshold in the catalogue.
BETA_NAMED: dict[str, Decimal] = {
    "630-08-0": Decimal("2"),  # carbon monoxide
    "7446-09-5": Decimal("2"),  # sulfur dioxide
    "7664-41-7": Decimal("2"),  # ammonia
    "75-21-8": Decimal("2"),  # ethylene oxide
    "7647-01-0": Decimal("3"),  # hydrogen chloride
    "74-83-9": Decimal("3"),  # methyl bromide
    "7782-50-5": Decimal("4"),  # chlorine
    "7783-06-4": Decimal("5"),  # hydrogen sulfide
    "7664-39-3": Decimal("5"),  # hydrogen fluoride
    "10102-44-0": Decimal("10"),  # nitrogen dioxide
    "74-90-8": Decimal("10"),  # hydrogen cyanide
    "75-44-5": Decimal("20"),  # phosgene
    "7803-51-2": Decimal("20"),  # phosphine
    "624-83-9": Decimal("20"),  # methyl isocyanate
}

# Table 4: β by category for everything else; a category not listed takes BETA_DEFAULT.
BETA_BY_CATEGORY: dict[str, Decimal] = {
    "J1": Decimal("4"),
    "J2": Decimal("1"),  # to confirm (see TO_CONFIRM)
    "J3": Decimal("2"),
    "J4": Decimal("2"),
    "J5": Decimal("1"),
    "W2": Decimal("1.5"),
    "W5.1": Decimal("1.5"),
    "W5.2": Decimal("1"),
    "W5.3": Decimal("1"),
    "W5.4": Decimal("1"),
    "W9.1": Decimal("1"),
    "W9.2": Decimal("1"),
}
BETA_DEFAULT = Decimal("1")

# Table 5: α by the number of people within 500 m of the unit, as (at least, α), highest
# band first. "100 or more" is how the standard's "100人以上" reads.
ALPHA_BANDS: tuple[tuple[int, Decimal], ...] = (
    (100, Decimal("2.0")),
    (50, Decimal("1.5")),
    (30, Decimal("1.2")),
    (1, Decimal("1.0")),
    (0, Decimal("0.5")),
)

# Grade of a major hazard installation by R, as (R at least, level), level 1 the gravest.
GRADE_BANDS: tuple[tuple[Decimal, int], ...] = (
    (Decimal("100"), 1),
    (Decimal("50"), 2),
    (Decimal("10"), 3),
    (Decimal("0"), 4),
)

# Values whose reading of the standard is still to be confirmed; keep them editable.
TO_CONFIRM: frozenset[str] = frozenset(
    {"beta:J2", *(f"named:{cas}" for cas in FURTHER_NAMED_THRESHOLDS_T)}
)


def beta_for(*, cas: str | None, category: str = "") -> Decimal:
    """β of a chemical: its named toxic-gas value, else its category's, else 1."""
    if cas and cas in BETA_NAMED:
        return BETA_NAMED[cas]
    return BETA_BY_CATEGORY.get(category, BETA_DEFAULT)


def alpha_for(people_within_500m: int) -> Decimal:
    """α for the number of people living within 500 m of the unit."""
    if people_within_500m < 0:
        raise ValueError("The number of people cannot be negative.")
    for at_least, alpha in ALPHA_BANDS:
        if people_within_500m >= at_least:
            return alpha
    raise AssertionError("unreachable: the last band starts at 0")


def grade_for(r: Decimal) -> int:
    """Level (1 gravest … 4) of a major hazard installation with risk value ``r``."""
    for at_least, level in GRADE_BANDS:
        if r >= at_least:
            return level
    return 4
