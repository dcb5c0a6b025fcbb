"""Tests of portal.identifiers against the "Identifiers" facts of the shared DOMAIN.md.

No database is needed: these are pure functions.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from portal.identifiers import (
    RppsLuhnWarning,
    idnps_from_adeli,
    idnps_from_rpps,
    rpps_luhn_ok,
    validate_adeli,
    validate_finess,
    validate_ins,
    validate_rpps,
    validate_siren,
    validate_siret,
)

SAMPLE_FINESS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "sample-finess-structures-journalier-20260309.json"
)

Validator = Callable[[Any], str]


def _error_code(validator: Validator, value: Any) -> str | None:
    """Run ``validator`` expecting a ValidationError and return its code."""
    with pytest.raises(ValidationError) as excinfo:
        validator(value)
    return excinfo.value.code


# --- every validator: missing values -------------------------------------------------------


@pytest.mark.parametrize(
    "validator",
    [
        validate_finess,
        validate_rpps,
        validate_adeli,
        validate_ins,
        validate_siren,
        validate_siret,
    ],
)
@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_it_rejects_missing_values_as_required(validator: Validator, value: Any) -> None:
    assert _error_code(validator, value) == "required"


@pytest.mark.parametrize(
    "validator",
    [
        validate_finess,
        validate_rpps,
        validate_adeli,
        validate_ins,
        validate_siren,
        validate_siret,
    ],
)
def test_it_rejects_non_string_values(validator: Validator) -> None:
    # An int has already lost any leading zero (FINESS 010000016 -> 10000016).
    assert _error_code(validator, 540002698) == "invalid_format"


# --- FINESS --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("540002698", "540002698"),  # CHRU Nancy, Brabois (DOMAIN.md)
        ("010000016", "010000016"),  # leading zero kept (real sample)
        ("980600019", "980600019"),  # overseas legal entity (real sample)
        ("980600027", "980600027"),  # overseas establishment (real sample)
        ("540002698   ", "540002698"),  # trailing spaces, as in real extracts
        ("  540002698\t", "540002698"),
    ],
)
def test_it_accepts_valid_finess(value: str, expected: str) -> None:
    assert validate_finess(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2A0000011", "2A0000011"),
        ("2B0000011", "2B0000011"),
        ("2a1234567", "2A1234567"),  # lowercase accepted, normalised
        ("2b7654321 ", "2B7654321"),
        # Corsican numbers are not Luhn-checked: any 7 digits after the letters pass.
        ("2A9999999", "2A9999999"),
    ],
)
def test_it_accepts_corsican_finess_without_key_check(value: str, expected: str) -> None:
    assert validate_finess(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("540002699", "invalid_checksum"),  # last digit changed
        ("540002689", "invalid_checksum"),
        ("980600010", "invalid_checksum"),
        ("54000269", "invalid_length"),
        ("5400026981", "invalid_length"),
        ("540 002 698", "invalid_length"),  # inner spaces are not stripped
        ("54000269X", "invalid_format"),
        ("ABCDEFGHI", "invalid_format"),
        ("2C1234567", "invalid_format"),  # only 2A / 2B exist
        ("2A123456B", "invalid_format"),
        ("12A345678", "invalid_format"),  # letters only at the start
        ("54000269²", "invalid_format"),  # non-ASCII digit
    ],
)
def test_it_rejects_invalid_finess(value: str, code: str) -> None:
    assert _error_code(validate_finess, value) == code


def test_it_gives_french_messages_for_finess() -> None:
    with translation.override("fr"):
        with pytest.raises(ValidationError) as length_error:
            validate_finess("1234")
        assert length_error.value.messages == ["Le numéro FINESS doit comporter 9 caractères."]
        with pytest.raises(ValidationError) as key_error:
            validate_finess("540002699")
        assert key_error.value.messages == ["La clé du numéro FINESS est incorrecte."]


def _sample_finess_numbers(data: dict[str, Any]) -> Iterator[str]:
    """Yield every numFinessPm and numFinessEge of a FINESS daily extract."""
    for legal_entity in data.get("pmej", []):
        # Older versions of the schema spell the key "informationsGeneralesPmej".
        general = legal_entity.get("informationsGeneralesPMEJ") or legal_entity.get(
            "informationsGeneralesPmej", {}
        )
        if general.get("numFinessPm"):
            yield general["numFinessPm"]
        for establishment in legal_entity.get("ege", []):
            number = establishment.get("informationsGeneralesEGE", {}).get("numFinessEge")
            if number:
                yield number


def test_it_reads_both_spellings_of_the_legal_entity_block() -> None:
    data = {
        "pmej": [
            {"informationsGeneralesPMEJ": {"numFinessPm": "540002698"}, "ege": []},
            {
                "informationsGeneralesPmej": {"numFinessPm": "010000016"},
                "ege": [{"informationsGeneralesEGE": {"numFinessEge": "980600027"}}],
            },
        ]
    }
    assert list(_sample_finess_numbers(data)) == ["540002698", "010000016", "980600027"]


def test_it_accepts_every_finess_number_of_the_real_sample() -> None:
    if not SAMPLE_FINESS.is_file():
        pytest.skip(f"FINESS sample not found at {SAMPLE_FINESS}")
    data = json.loads(SAMPLE_FINESS.read_text(encoding="utf-8"))
    numbers = list(_sample_finess_numbers(data))
    assert numbers, "the sample should hold FINESS numbers"
    rejected = []
    for number in numbers:
        try:
            validate_finess(number)
        except ValidationError as error:
            rejected.append((number, error.code))
    assert rejected == []


# --- RPPS / ADELI / IDNPS ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10000001916", "10000001916"),  # DOMAIN.md example, passes Luhn
        ("10000001916  ", "10000001916"),
    ],
)
def test_it_accepts_valid_rpps_without_warning(value: str, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RppsLuhnWarning)
        assert validate_rpps(value) == expected


@pytest.mark.parametrize("value", ["10000001917", "10000001910", "12345678901"])
def test_it_accepts_rpps_failing_luhn_with_a_warning(value: str) -> None:
    with pytest.warns(RppsLuhnWarning, match=value):
        assert validate_rpps(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10000001916", True),
        (" 10000001916 ", True),
        ("10000001917", False),
        ("1000000191", False),
        ("1000000191X", False),
        ("", False),
    ],
)
def test_it_tells_whether_rpps_passes_luhn(value: str, expected: bool) -> None:
    assert rpps_luhn_ok(value) is expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1000000191", "invalid_length"),
        ("100000019160", "invalid_length"),
        ("810000001916", "invalid_length"),  # an IDNPS is not an RPPS
        ("1000000191A", "invalid_format"),
        ("10000-01916", "invalid_format"),
    ],
)
def test_it_rejects_invalid_rpps(value: str, code: str) -> None:
    assert _error_code(validate_rpps, value) == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("541234567", "541234567"),  # illustrative: any 9 digits, no key
        ("000000000", "000000000"),
        ("541234567 ", "541234567"),
    ],
)
def test_it_accepts_valid_adeli(value: str, expected: str) -> None:
    assert validate_adeli(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("54123456", "invalid_length"),
        ("5412345678", "invalid_length"),
        ("54123456A", "invalid_format"),
        ("2A1234567", "invalid_format"),
    ],
)
def test_it_rejects_invalid_adeli(value: str, code: str) -> None:
    assert _error_code(validate_adeli, value) == code


def test_it_builds_the_idnps_from_an_rpps() -> None:
    assert idnps_from_rpps("10000001916") == "810000001916"  # DOMAIN.md example
    assert idnps_from_rpps(" 10000001916 ") == "810000001916"


def test_it_builds_the_idnps_from_an_rpps_failing_luhn_with_a_warning() -> None:
    with pytest.warns(RppsLuhnWarning):
        assert idnps_from_rpps("10000001917") == "810000001917"


def test_it_builds_the_idnps_from_an_adeli() -> None:
    assert idnps_from_adeli("541234567") == "0541234567"


@pytest.mark.parametrize(
    ("builder", "value"),
    [(idnps_from_rpps, "1234"), (idnps_from_adeli, "1234"), (idnps_from_adeli, None)],
)
def test_it_rejects_building_an_idnps_from_an_invalid_number(
    builder: Validator, value: Any
) -> None:
    with pytest.raises(ValidationError):
        builder(value)


# --- INS / NIR -----------------------------------------------------------------------------

# Corsican keys computed by hand: 185052A004123 -> 1850519004123 -> 97 - (n mod 97) = 56;
# 185052B004123 -> 1850518004123 -> 83. With "20" instead of 2A the key would be 29.
INS_CORSICA_2A = "185052A00412356"
INS_CORSICA_2B = "185052B00412383"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("295109912611193", "295109912611193"),  # DOMAIN.md (python-stdnum's test)
        ("2 95 10 99 126 111 93", "295109912611193"),
        (" 295109912611193 ", "295109912611193"),
        ("2\u00a095\u00a010 99 126 111 93", "295109912611193"),  # non-breaking spaces
        (INS_CORSICA_2A, INS_CORSICA_2A),
        (INS_CORSICA_2B, INS_CORSICA_2B),
        ("1 85 05 2a 004 123 56", INS_CORSICA_2A),  # lowercase, spaced
        ("253072B07300470", "253072B07300470"),  # python-stdnum's Corsican examples
        ("253072A07300443", "253072A07300443"),
    ],
)
def test_it_accepts_valid_ins(value: str, expected: str) -> None:
    assert validate_ins(value) == expected


@pytest.mark.parametrize("value", [INS_CORSICA_2A, INS_CORSICA_2B, "295109912611193"])
def test_it_agrees_with_python_stdnum_on_ins_keys(value: str) -> None:
    assert stdnum_nir.is_valid(value)
    assert validate_ins(value) == stdnum_nir.compact(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("295109912611199", "invalid_checksum"),
        ("295109912611194", "invalid_checksum"),
        ("185052A00412329", "invalid_checksum"),  # 2A keyed as if department "20"
        ("185052B00412356", "invalid_checksum"),  # 2B carrying the 2A key
        ("185052A00412383", "invalid_checksum"),  # 2A carrying the 2B key
        ("29510991261119", "invalid_length"),
        ("2951099126111930", "invalid_length"),
        ("2951099126111", "invalid_length"),  # key missing
        ("185052C00412356", "invalid_format"),  # only 2A / 2B
        ("2A5052000412356", "invalid_format"),  # letters only as the department
        ("185052A0041235X", "invalid_format"),
        ("2-95-10-99-126-111-93", "invalid_length"),
        ("29510-912611193", "invalid_format"),
    ],
)
def test_it_rejects_invalid_ins(value: str, code: str) -> None:
    assert _error_code(validate_ins, value) == code


# --- SIREN / SIRET -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("77220148900022", "77220148900022"),  # DOMAIN.md example
        ("772 201 489 00022", "77220148900022"),
        (" 77220148900022 ", "77220148900022"),
        ("35600000000048", "35600000000048"),  # La Poste head office: plain Luhn
        # A La Poste establishment: fails Luhn, digit sum is a multiple of 5.
        ("35600000049837", "35600000049837"),
        ("356 000 000 49837", "35600000049837"),
    ],
)
def test_it_accepts_valid_siret(value: str, expected: str) -> None:
    assert validate_siret(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("77220148900023", "invalid_checksum"),  # bad key
        ("77220148900021", "invalid_checksum"),
        ("35600000049838", "invalid_checksum"),  # La Poste, digit sum not a multiple of 5
        ("12345678900007", "invalid_checksum"),  # whole passes Luhn, SIREN part does not
        ("7722014890002", "invalid_length"),
        ("772201489000220", "invalid_length"),
        ("7722014890002A", "invalid_format"),
        ("772.201.489.00022", "invalid_length"),
    ],
)
def test_it_rejects_invalid_siret(value: str, code: str) -> None:
    assert _error_code(validate_siret, value) == code


def test_la_poste_siret_fails_plain_luhn() -> None:
    # Guard that the La Poste example really exercises the exception, not plain Luhn.
    assert not luhn.is_valid("35600000049837")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("772201489", "772201489"),
        ("772 201 489", "772201489"),
        ("356000000", "356000000"),  # La Poste
        ("130003239 ", "130003239"),  # real sample
    ],
)
def test_it_accepts_valid_siren(value: str, expected: str) -> None:
    assert validate_siren(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("772201488", "invalid_checksum"),
        ("77220148", "invalid_length"),
        ("77220148900022", "invalid_length"),
        ("77220148A", "invalid_format"),
    ],
)
def test_it_rejects_invalid_siren(value: str, code: str) -> None:
    assert _error_code(validate_siren, value) == code
