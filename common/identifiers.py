"""Check-digit identifiers of the domain: USCC (GB 32100-2015), CAS registry numbers, UN numbers.

Pure functions plus Django validators, so models, serializers, imports and the demo seed
all apply the same rule.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 ...
_USCC_RE = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")
_CAS_RE = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
_UN_RE = re.compile(r"^UN\d{4}$")


def uscc_check_char(first17: str) -> str:
    """The 18th character of a USCC whose first 17 characters are given."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    check = 31 - total % 31
    return USCC_ALPHABET[0 if check == 31 else check]


def is_valid_uscc(value: str) -> bool:
    return bool(_USCC_RE.match(value)) and uscc_check_char(value[:17]) == value[17]


def cas_check_digit(body: str) -> int:
    """Check digit for the CAS digits before it (``7732-18`` → 5)."""
    digits = body.replace("-", "")
    return sum(int(d) * pos for pos, d in enumerate(reversed(digits), start=1)) % 10


def is_valid_cas(value: str) -> bool:
    match = _CAS_RE.match(value)
    if not match:
        return False
    return cas_check_digit(match.group(1) + match.group(2)) == int(match.group(3))


def is_valid_un(value: str) -> bool:
    return bool(_UN_RE.match(value))


def validate_uscc(value: str) -> None:
    if not _USCC_RE.match(value or ""):
        raise ValidationError(
            _("A USCC has 18 characters from %(alphabet)s (no I, O, Z, S, V)."),
            code="uscc_format",
            params={"alphabet": USCC_ALPHABET},
        )
    if not is_valid_uscc(value):
        raise ValidationError(
            _("USCC check character is wrong: expected %(expected)s."),
            code="uscc_checksum",
            params={"expected": uscc_check_char(value[:17])},
        )


def validate_cas(value: str) -> None:
    if not _CAS_RE.match(value or ""):
        raise ValidationError(
            _("A CAS number looks like 7732-18-5 (2-7 digits, 2 digits, check digit)."),
            code="cas_format",
        )
    if not is_valid_cas(value):
        raise ValidationError(_("CAS check digit is wrong."), code="cas_checksum")


def validate_un(value: str) -> None:
    if not is_valid_un(value or ""):
        raise ValidationError(_("A UN number is 'UN' and four digits, e.g. UN1017."), code="un")
