import pytest
from django.core.exceptions import ValidationError

from common.identifiers import (
    cas_check_digit,
    is_valid_cas,
    is_valid_uscc,
    uscc_check_char,
    validate_cas,
    validate_uscc,
)
from tests.factories import make_uscc


def test_cas_check_digit_of_water_is_5() -> None:
    assert cas_check_digit("7732-18") == 5
    assert is_valid_cas("7732-18-5")


@pytest.mark.parametrize("cas", ["7782-50-5", "7664-41-7", "67-56-1", "71-43-2", "108-88-3"])
def test_known_cas_numbers_are_valid(cas: str) -> None:
    assert is_valid_cas(cas)


@pytest.mark.parametrize("cas", ["7732-18-4", "7732185", "1-18-5", "12345678-18-5", "", "ab-cd-e"])
def test_bad_cas_numbers_are_refused(cas: str) -> None:
    assert not is_valid_cas(cas)
    with pytest.raises(ValidationError):
        validate_cas(cas)


def test_uscc_weights_and_a_published_code() -> None:
    # 91350100M000100Y43 is a widely published example of a valid code.
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert is_valid_uscc("91350100M000100Y43")


def test_uscc_check_31_maps_to_0() -> None:
    # Find a body whose weighted sum is 0 mod 31: then check = 31 → "0".
    body = "00000000000000000"
    assert uscc_check_char(body) == "0"


@pytest.mark.parametrize(
    "code", ["91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43", "x" * 18]
)
def test_bad_usccs_are_refused(code: str) -> None:
    assert not is_valid_uscc(code)
    with pytest.raises(ValidationError):
        validate_uscc(code)


def test_factory_usccs_are_valid() -> None:
    assert all(is_valid_uscc(make_uscc(n)) for n in range(200))
