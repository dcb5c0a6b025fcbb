"""The automatic checks of an accreditation request, shared by the form, the API and the
submission service: identifier format, the reference extract and the names, codes, sites, and
the applicant's standing (no open request, no accreditation in force or suspended, no
identifier of another account)."""

from __future__ import annotations

import datetime
import warnings
from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from portal.identifiers import RppsLuhnWarning, validate_adeli, validate_rpps
from portal.models import User
from practitioners.models import Accreditation, IdentifierType, Profession, Specialty
from practitioners.selectors import (
    member_establishments,
    names_match,
    open_request_for_identifier,
    open_request_of,
    practitioner_for_identifier,
    practitioner_of,
    reference_for,
)


@dataclass(frozen=True)
class CityPractice:
    """A practice in town, named in a request (no establishment of the network)."""

    name: str
    address: str = ""
    postal_code: str = ""
    city: str = ""


@dataclass(frozen=True)
class AccreditationRequestData:
    """What an applicant declares, from the form or the API."""

    identifier_type: str
    identifier: str
    last_name: str
    first_name: str
    profession_code: str
    email: str
    purpose: str
    specialty_code: str = ""
    phone: str = ""
    establishment_ids: tuple[int, ...] = ()
    city_practices: tuple[CityPractice, ...] = field(default_factory=tuple)


def _date(day: datetime.date) -> str:
    return formats.date_format(day, "j F Y")


def normalise_identifier(*, identifier_type: str, identifier: str) -> str:
    """The identifier validated by ``portal.identifiers`` (raises ``ValidationError``).

    A failed RPPS Luhn key is not an error (DOMAIN.md): its warning is silenced here.
    """
    if identifier_type == IdentifierType.ADELI:
        return validate_adeli(identifier)
    if identifier_type != IdentifierType.RPPS:
        raise ValidationError(_("Choisissez RPPS ou ADELI."), code="invalid_choice")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RppsLuhnWarning)
        return validate_rpps(identifier)


def _check_identity(
    *, user: User, data: AccreditationRequestData, errors: dict[str, list[str]]
) -> str:
    """Identifier format, the reference extract and the names; returns the clean identifier."""
    try:
        identifier = normalise_identifier(
            identifier_type=data.identifier_type, identifier=data.identifier
        )
    except ValidationError as error:
        errors.setdefault("identifier", []).extend(str(m) for m in error.messages)
        return ""
    label = IdentifierType(data.identifier_type).label
    reference = reference_for(identifier_type=data.identifier_type, identifier=identifier)
    if reference is None:
        errors.setdefault("identifier", []).append(
            _(
                "Ce numéro %(type)s est inconnu du référentiel national des professionnels de "
                "santé. Vérifiez-le ; s'il est exact, contactez l'administration régionale."
            )
            % {"type": label}
        )
        return identifier
    if not names_match(reference.last_name, data.last_name):
        errors.setdefault("last_name", []).append(
            _("Ce nom ne correspond pas à celui que le référentiel national donne pour ce numéro.")
        )
    if reference.first_name and not names_match(reference.first_name, data.first_name):
        errors.setdefault("first_name", []).append(
            _(
                "Ce prénom ne correspond pas à celui que le référentiel national donne pour ce "
                "numéro."
            )
        )
    return identifier


def _check_codes(*, data: AccreditationRequestData, errors: dict[str, list[str]]) -> None:
    if data.profession_code not in Profession.values:
        errors.setdefault("profession_code", []).append(_("Choisissez une profession de la liste."))
    if data.specialty_code and data.specialty_code not in Specialty.values:
        errors.setdefault("specialty_code", []).append(_("Choisissez une spécialité de la liste."))
    if data.profession_code == Profession.PHYSICIAN and not data.specialty_code:
        errors.setdefault("specialty_code", []).append(
            _("La spécialité est obligatoire pour un médecin.")
        )
    if not data.purpose.strip():
        errors.setdefault("purpose", []).append(_("Expliquez l'objet de votre demande."))


def _check_sites(*, data: AccreditationRequestData, errors: dict[str, list[str]]) -> None:
    if not data.establishment_ids and not data.city_practices:
        errors.setdefault(NON_FIELD_ERRORS, []).append(
            _(
                "Indiquez au moins un lieu d'exercice : un établissement membre du réseau ou "
                "votre cabinet."
            )
        )
    ids = set(data.establishment_ids)
    if ids:
        known = set(member_establishments().filter(pk__in=ids).values_list("pk", flat=True))
        if ids - known:
            errors.setdefault("establishments", []).append(
                _("Choisissez des établissements membres du réseau.")
            )
    for practice in data.city_practices:
        if not practice.name.strip() or not practice.city.strip():
            errors.setdefault("city_practices", []).append(
                _("Donnez le nom et la commune de votre cabinet.")
            )
        if practice.postal_code and not (
            len(practice.postal_code) == 5 and practice.postal_code.isdigit()
        ):
            errors.setdefault("city_practices", []).append(
                _("Le code postal doit comporter 5 chiffres.")
            )


def _check_standing(
    *,
    user: User,
    data: AccreditationRequestData,
    identifier: str,
    errors: dict[str, list[str]],
) -> None:
    """No open request, no accreditation in force or suspended, no identifier of another
    account."""
    mine = open_request_of(user=user)
    if mine is not None:
        errors.setdefault(NON_FIELD_ERRORS, []).append(
            _("Vous avez déjà une demande d'habilitation en cours, déposée le %(day)s.")
            % {"day": _date(timezone.localdate(mine.created_at))}
        )
    elif identifier and open_request_for_identifier(
        identifier_type=data.identifier_type, identifier=identifier
    ):
        errors.setdefault("identifier", []).append(
            _("Une demande d'habilitation est déjà en cours pour ce numéro.")
        )
    own = practitioner_of(user=user)
    known = (
        practitioner_for_identifier(identifier_type=data.identifier_type, identifier=identifier)
        if identifier
        else None
    )
    if known is not None and known.user_id is not None and known.user_id != user.pk:
        errors.setdefault("identifier", []).append(
            _("Ce numéro est déjà rattaché à un autre compte du portail.")
        )
    if own is not None and identifier and (known is None or own.pk != known.pk):
        errors.setdefault("identifier", []).append(
            _("Votre compte est déjà rattaché au professionnel %(idnps)s.") % {"idnps": own.idnps}
        )
    practitioner = own or known
    if practitioner is None:
        return
    today = timezone.localdate()
    standing = Accreditation.objects.filter(
        practitioner=practitioner,
        status__in=[Accreditation.Status.ACTIVE, Accreditation.Status.SUSPENDED],
        valid_until__gte=today,
    ).order_by("-valid_until")
    for accreditation in standing:
        if accreditation.status == Accreditation.Status.SUSPENDED:
            errors.setdefault(NON_FIELD_ERRORS, []).append(
                _(
                    "Votre habilitation est suspendue : une nouvelle demande n'est pas possible. "
                    "Adressez-vous à votre référent ou à l'administration régionale."
                )
            )
        else:
            errors.setdefault(NON_FIELD_ERRORS, []).append(
                _(
                    "Vous avez déjà une habilitation en cours de validité jusqu'au %(day)s. "
                    "Pour la prolonger, demandez son renouvellement depuis la page « Mon "
                    "habilitation »."
                )
                % {"day": _date(accreditation.valid_until)}
            )
        break


def accreditation_request_check(*, user: User, data: AccreditationRequestData) -> str:
    """Run the automatic checks of a submission; return the normalised identifier.

    Raises ``ValidationError`` with a dict of French messages per field (``identifier``,
    ``last_name``, ``first_name``, ``profession_code``, ``specialty_code``, ``purpose``,
    ``establishments``, ``city_practices``, and ``__all__`` for the rest).
    """
    errors: dict[str, list[str]] = {}
    identifier = _check_identity(user=user, data=data, errors=errors)
    _check_codes(data=data, errors=errors)
    _check_sites(data=data, errors=errors)
    _check_standing(user=user, data=data, identifier=identifier, errors=errors)
    if errors:
        raise ValidationError(errors)
    return identifier
