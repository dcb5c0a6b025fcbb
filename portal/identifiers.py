"""Validation of the French health and business identifiers used by the portal.

Every rule here mirrors the "Identifiers" section of the shared DOMAIN.md and is deliberately
never stricter than the facts recorded there: where a check digit is unconfirmed (RPPS) or
unverified (Corsican FINESS), the number is accepted rather than risk refusing a real one.

Each ``validate_*`` function takes the raw user or extract value, returns the normalised
identifier and raises :class:`django.core.exceptions.ValidationError` with a French message
and one of the codes ``required``, ``invalid_length``, ``invalid_format`` or
``invalid_checksum``. They can be used directly as Django field validators (the return
value is then ignored) or called by forms and importers that want the normalised value.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exceptions
from stdnum import luhn
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

if TYPE_CHECKING:
    # Only django-stubs defines the str-flavoured lazy type that ValidationError accepts.
    from django.utils.functional import _StrPromise as Promise

__all__ = [
    "RppsLuhnWarning",
    "idnps_from_adeli",
    "idnps_from_rpps",
    "rpps_luhn_ok",
    "validate_adeli",
    "validate_finess",
    "validate_ins",
    "validate_rpps",
    "validate_siren",
    "validate_siret",
]

FINESS_LENGTH = 9
RPPS_LENGTH = 11
ADELI_LENGTH = 9
INS_LENGTH = 15
SIREN_LENGTH = 9
SIRET_LENGTH = 14

# Corsica's two departments carry letters where every other department has digits.
CORSICA_DEPARTMENTS = ("2A", "2B")

# For the NIR/INS key the Corsican department letters are replaced by these digits before the
# modulo (DOMAIN.md: 2A -> 19, 2B -> 18).
_INS_CORSICA_SUBSTITUTES = {"2A": "19", "2B": "18"}

# IDNPS prefixes (DOMAIN.md): the national professional id is a one-digit type + the number.
_IDNPS_RPPS_PREFIX = "8"
_IDNPS_ADELI_PREFIX = "0"

# Messages are literal gettext_lazy calls so that makemessages finds them; French is the
# project's source language. One table per identifier keeps each validator's codes explicit.
_FINESS_MESSAGES: Mapping[str, Promise] = {
    "required": _("Le numéro FINESS est obligatoire."),
    "invalid_length": _("Le numéro FINESS doit comporter 9 caractères."),
    "invalid_format": _(
        "Le numéro FINESS ne doit comporter que des chiffres "
        "(ou commencer par 2A ou 2B pour la Corse)."
    ),
    "invalid_checksum": _("La clé du numéro FINESS est incorrecte."),
}
_RPPS_MESSAGES: Mapping[str, Promise] = {
    "required": _("Le numéro RPPS est obligatoire."),
    "invalid_length": _("Le numéro RPPS doit comporter 11 chiffres."),
    "invalid_format": _("Le numéro RPPS ne doit comporter que des chiffres."),
}
_ADELI_MESSAGES: Mapping[str, Promise] = {
    "required": _("Le numéro ADELI est obligatoire."),
    "invalid_length": _("Le numéro ADELI doit comporter 9 chiffres."),
    "invalid_format": _("Le numéro ADELI ne doit comporter que des chiffres."),
}
_INS_MESSAGES: Mapping[str, Promise] = {
    "required": _("Le numéro INS (NIR) est obligatoire."),
    "invalid_length": _("Le numéro INS (NIR) doit comporter 15 caractères, clé comprise."),
    "invalid_format": _(
        "Le numéro INS (NIR) ne doit comporter que des chiffres, "
        "sauf le département 2A ou 2B pour la Corse."
    ),
    "invalid_checksum": _("La clé du numéro INS (NIR) est incorrecte."),
}
_SIREN_MESSAGES: Mapping[str, Promise] = {
    "required": _("Le numéro SIREN est obligatoire."),
    "invalid_length": _("Le numéro SIREN doit comporter 9 chiffres."),
    "invalid_format": _("Le numéro SIREN ne doit comporter que des chiffres."),
    "invalid_checksum": _("La clé du numéro SIREN est incorrecte."),
}
_SIRET_MESSAGES: Mapping[str, Promise] = {
    "required": _("Le numéro SIRET est obligatoire."),
    "invalid_length": _("Le numéro SIRET doit comporter 14 chiffres."),
    "invalid_format": _("Le numéro SIRET ne doit comporter que des chiffres."),
    "invalid_checksum": _("La clé du numéro SIRET est incorrecte."),
}


class RppsLuhnWarning(UserWarning):
    """An RPPS number failed the Luhn check.

    Emitted instead of an error because the RPPS Luhn key is not confirmed: several official
    example numbers fail it, so rejecting on it could lock out real practitioners.
    """


def _fail(messages: Mapping[str, Promise], code: str, value: object) -> ValidationError:
    """Build the ValidationError for ``code``, keeping the raw value as a message param."""
    return ValidationError(messages[code], code=code, params={"value": value})


def _is_ascii_digits(text: str) -> bool:
    """True when ``text`` is non-empty and only ASCII 0-9.

    ``str.isdigit`` alone also accepts superscripts and non-Latin digits, which no identifier
    contains and ``int()`` or Luhn would then mishandle.
    """
    return text.isascii() and text.isdigit()


def _clean(value: str | None, messages: Mapping[str, Promise], *, drop_inner_spaces: bool) -> str:
    """Return ``value`` without surrounding (or, if asked, any) whitespace, or raise.

    Extracts carry trailing spaces, so surrounding whitespace is always removed. Inner spaces
    are only dropped for identifiers commonly written in groups (INS, SIREN, SIRET);
    ``str.split`` also catches the non-breaking spaces French typography puts there.
    """
    if value is None:
        raise _fail(messages, "required", value)
    if not isinstance(value, str):
        # An int would already have lost leading zeros (FINESS 010000016): refuse, don't guess.
        raise _fail(messages, "invalid_format", value)
    cleaned = "".join(value.split()) if drop_inner_spaces else value.strip()
    if not cleaned:
        raise _fail(messages, "required", value)
    return cleaned


def validate_finess(value: str | None) -> str:
    """Validate a FINESS number (legal entity or geographic establishment).

    Nine characters. Ordinary numbers are nine digits with a Luhn key over all of them (all
    the numbers of the real national sample pass, overseas ``98…`` included). Corsican numbers
    start with ``2A`` or ``2B`` followed by seven digits and are accepted without a key check,
    because no official algorithm covering the letters has been found.

    Surrounding whitespace is stripped and a lowercase ``2a``/``2b`` prefix is upper-cased.

    Returns the normalised number; raises ``ValidationError`` otherwise.
    """
    number = _clean(value, _FINESS_MESSAGES, drop_inner_spaces=False)
    if len(number) != FINESS_LENGTH:
        raise _fail(_FINESS_MESSAGES, "invalid_length", value)
    prefix = number[:2].upper()
    if prefix in CORSICA_DEPARTMENTS:
        if not _is_ascii_digits(number[2:]):
            raise _fail(_FINESS_MESSAGES, "invalid_format", value)
        # Unverified key for letter-bearing numbers: never reject a Corsican number on it.
        return prefix + number[2:]
    if not _is_ascii_digits(number):
        raise _fail(_FINESS_MESSAGES, "invalid_format", value)
    if not luhn.is_valid(number):
        raise _fail(_FINESS_MESSAGES, "invalid_checksum", value)
    return number


def rpps_luhn_ok(value: str) -> bool:
    """Tell whether an RPPS number (surrounding whitespace ignored) passes the Luhn check.

    Informative only: a False result must never block a practitioner (see
    :class:`RppsLuhnWarning`). Anything that is not 11 digits returns False.
    """
    if not isinstance(value, str):
        return False
    number = value.strip()
    return len(number) == RPPS_LENGTH and _is_ascii_digits(number) and luhn.is_valid(number)


def validate_rpps(value: str | None) -> str:
    """Validate an RPPS number: 11 digits.

    The Luhn key is not confirmed for RPPS (several official example numbers fail it), so a
    failed Luhn only emits :class:`RppsLuhnWarning` and the number is still accepted.

    Returns the number with surrounding whitespace stripped; raises ``ValidationError`` when
    the length or format is wrong.
    """
    number = _clean(value, _RPPS_MESSAGES, drop_inner_spaces=False)
    if len(number) != RPPS_LENGTH:
        raise _fail(_RPPS_MESSAGES, "invalid_length", value)
    if not _is_ascii_digits(number):
        raise _fail(_RPPS_MESSAGES, "invalid_format", value)
    if not luhn.is_valid(number):
        # Warn, never raise: the key is unconfirmed and refusing a real RPPS would lock a
        # practitioner out. The warning lets imports and logs surface suspicious numbers.
        warnings.warn(
            f"Le numéro RPPS {number} ne vérifie pas la clé de Luhn ; "
            "il est accepté car cette clé n'est pas confirmée pour le RPPS.",
            RppsLuhnWarning,
            stacklevel=2,
        )
    return number


def validate_adeli(value: str | None) -> str:
    """Validate an ADELI number: 9 digits, no key check (no public key algorithm is known).

    Returns the number with surrounding whitespace stripped; raises ``ValidationError``.
    """
    number = _clean(value, _ADELI_MESSAGES, drop_inner_spaces=False)
    if len(number) != ADELI_LENGTH:
        raise _fail(_ADELI_MESSAGES, "invalid_length", value)
    if not _is_ascii_digits(number):
        raise _fail(_ADELI_MESSAGES, "invalid_format", value)
    return number


def idnps_from_rpps(rpps: str) -> str:
    """Return the national professional id (IDNPS) of an RPPS practitioner: ``"8" + RPPS``.

    The RPPS is validated first (so it may emit :class:`RppsLuhnWarning`, and raises
    ``ValidationError`` if malformed). Pro Santé Connect's ``SubjectNameID`` has this shape.
    """
    return _IDNPS_RPPS_PREFIX + validate_rpps(rpps)


def idnps_from_adeli(adeli: str) -> str:
    """Return the national professional id (IDNPS) of an ADELI professional: ``"0" + ADELI``.

    The ADELI number is validated first and ``ValidationError`` is raised if malformed.
    """
    return _IDNPS_ADELI_PREFIX + validate_adeli(adeli)


def _ins_key(body: str) -> str:
    """Compute the two-digit key of the 13-character NIR/INS ``body``.

    key = 97 - (number mod 97), where the Corsican department 2A/2B at positions 6-7 is first
    replaced by 19/18 so that the body becomes a number.
    """
    department = body[5:7]
    substitute = _INS_CORSICA_SUBSTITUTES.get(department)
    if substitute is not None:
        body = body[:5] + substitute + body[7:]
    return f"{97 - int(body) % 97:02d}"


def validate_ins(value: str | None) -> str:
    """Validate a patient INS / NIR: 13 characters followed by a 2-digit key.

    All characters are digits except the department (positions 6-7), which may be ``2A`` or
    ``2B`` for Corsica. Spaces are accepted anywhere (``"2 95 10 99 126 111 93"``) and the
    letters may be lowercase.

    Returns the 15 compact, upper-cased characters; raises ``ValidationError`` otherwise.
    """
    number = _clean(value, _INS_MESSAGES, drop_inner_spaces=True).upper()
    if len(number) != INS_LENGTH:
        raise _fail(_INS_MESSAGES, "invalid_length", value)
    department = number[5:7]
    if not (
        _is_ascii_digits(number[:5])
        and (_is_ascii_digits(department) or department in CORSICA_DEPARTMENTS)
        and _is_ascii_digits(number[7:])
    ):
        raise _fail(_INS_MESSAGES, "invalid_format", value)
    if _ins_key(number[:13]) != number[13:]:
        raise _fail(_INS_MESSAGES, "invalid_checksum", value)
    return number


def _stdnum_check(
    validator: Callable[[str], str], number: str, messages: Mapping[str, Promise], value: object
) -> None:
    """Run a python-stdnum ``validate`` and translate its errors into Django's.

    Length and format have already been checked, so anything left is a key error; an
    unexpected stdnum error is still reported as a format error rather than let through.
    """
    try:
        validator(number)
    except stdnum_exceptions.InvalidChecksum as exc:
        raise _fail(messages, "invalid_checksum", value) from exc
    except stdnum_exceptions.ValidationError as exc:
        raise _fail(messages, "invalid_format", value) from exc


def validate_siren(value: str | None) -> str:
    """Validate a SIREN (legal entity): 9 digits with a Luhn key.

    Spaces are accepted (``"772 201 489"``). Returns the 9 compact digits; raises
    ``ValidationError`` otherwise.
    """
    number = _clean(value, _SIREN_MESSAGES, drop_inner_spaces=True)
    if len(number) != SIREN_LENGTH:
        raise _fail(_SIREN_MESSAGES, "invalid_length", value)
    if not _is_ascii_digits(number):
        raise _fail(_SIREN_MESSAGES, "invalid_format", value)
    _stdnum_check(stdnum_siren.validate, number, _SIREN_MESSAGES, value)
    return number


def validate_siret(value: str | None) -> str:
    """Validate a SIRET (geographic establishment): 14 digits with a Luhn key.

    La Poste establishments (SIREN 356000000) are the published exception: their SIRETs only
    need a digit sum that is a multiple of 5. python-stdnum's ``stdnum.fr.siret`` knows this
    rule, so the key check is delegated to it. Spaces are accepted
    (``"772 201 489 00022"``). Returns the 14 compact digits; raises ``ValidationError``.
    """
    number = _clean(value, _SIRET_MESSAGES, drop_inner_spaces=True)
    if len(number) != SIRET_LENGTH:
        raise _fail(_SIRET_MESSAGES, "invalid_length", value)
    if not _is_ascii_digits(number):
        raise _fail(_SIRET_MESSAGES, "invalid_format", value)
    _stdnum_check(stdnum_siret.validate, number, _SIRET_MESSAGES, value)
    return number
