"""Accreditation requests: submission with its automatic checks, and the reviewers' decisions.

Rule of decision (documented in the request page too): every requested site is decided by its
reviewer; a reviewer's "approve" or "reject" decides the pending sites that are theirs. Once no
site is pending, the request is approved if at least one site was approved (the practitioner is
accredited and practises at the approved sites), and rejected otherwise. Asking for more
information pauses the whole request until the applicant answers.
"""

from __future__ import annotations

import datetime
import warnings
from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portal.identifiers import RppsLuhnWarning, validate_adeli, validate_rpps
from portal.models import User
from practitioners.models import (
    Accreditation,
    AccreditationEvent,
    AccreditationRequest,
    AccreditationRequestSite,
    IdentifierType,
    PracticeSite,
    Practitioner,
    Profession,
    Specialty,
)
from practitioners.selectors import (
    member_establishments,
    names_match,
    open_request_for_identifier,
    open_request_of,
    practitioner_for_identifier,
    practitioner_of,
    reference_for,
    reviewers_of_sites,
    sites_decidable_by,
)
from practitioners.services.common import (
    event_record,
    link,
    mail_users,
    validity_days,
)

Kind = AccreditationEvent.Kind
Decision = AccreditationRequestSite.Decision


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


def _request_url(base_url: str, request: AccreditationRequest) -> str:
    return link(base_url, reverse("practitioners:request_detail", args=[request.pk]))


@transaction.atomic
def accreditation_request_submit(
    *, user: User, data: AccreditationRequestData, base_url: str = ""
) -> AccreditationRequest:
    """Check and record a request, then tell the applicant and the reviewers of its sites."""
    identifier = accreditation_request_check(user=user, data=data)
    request = AccreditationRequest(
        user=user,
        identifier_type=data.identifier_type,
        identifier=identifier,
        last_name=data.last_name.strip(),
        first_name=data.first_name.strip(),
        profession_code=data.profession_code,
        specialty_code=data.specialty_code,
        email=data.email.strip(),
        phone=data.phone.strip(),
        purpose=data.purpose.strip(),
        practitioner=practitioner_of(user=user)
        or practitioner_for_identifier(identifier_type=data.identifier_type, identifier=identifier),
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as error:
        # Two submissions at once: the database's partial unique constraints decide.
        raise ValidationError(
            {"identifier": [_("Une demande d'habilitation est déjà en cours pour ce numéro.")]}
        ) from error
    sites = [
        AccreditationRequestSite(request=request, establishment_id=pk)
        for pk in dict.fromkeys(data.establishment_ids)
    ] + [
        AccreditationRequestSite(
            request=request,
            practice_name=practice.name.strip(),
            address=practice.address.strip(),
            postal_code=practice.postal_code.strip(),
            city=practice.city.strip(),
        )
        for practice in data.city_practices
    ]
    AccreditationRequestSite.objects.bulk_create(sites)
    event_record(
        kind=Kind.SUBMITTED, request=request, practitioner=request.practitioner, actor=user
    )
    sites = list(request.sites.select_related("establishment"))
    context = {"request": request, "sites": sites, "url": _request_url(base_url, request)}
    mail_users(
        users=[user],
        subject=gettext_noop("Votre demande d'habilitation a bien été reçue"),
        template="emails/practitioners/request_submitted.txt",
        context=context,
    )
    mail_users(
        users=reviewers_of_sites(sites=sites),
        subject=gettext_noop("Nouvelle demande d'habilitation à examiner"),
        template="emails/practitioners/request_to_review.txt",
        context=context,
    )
    return request


def _locked(request: AccreditationRequest) -> AccreditationRequest:
    return (
        AccreditationRequest.objects.select_for_update(of=("self",))
        .select_related("user", "practitioner")
        .get(pk=request.pk)
    )


def _awaiting_decision(request: AccreditationRequest) -> None:
    if request.status != AccreditationRequest.Status.SUBMITTED:
        raise ValidationError(
            _("Cette demande n'attend pas de décision (%(status)s).")
            % {"status": request.get_status_display()},
            code="not_awaiting_decision",
        )


def _decide_sites(
    *, request: AccreditationRequest, reviewer: User, decision: str, reason: str = ""
) -> list[AccreditationRequestSite]:
    sites = sites_decidable_by(user=reviewer, request=request)
    if not sites:
        raise ValidationError(
            _("Aucun lieu d'exercice de cette demande n'attend votre décision."),
            code="nothing_to_decide",
        )
    now = timezone.now()
    for site in sites:
        site.decision = decision
        site.decided_by = reviewer
        site.decided_at = now
        site.reason = reason
    AccreditationRequestSite.objects.bulk_update(
        sites, ["decision", "decided_by", "decided_at", "reason"]
    )
    event_record(
        kind=Kind.SITES_APPROVED if decision == Decision.APPROVED else Kind.SITES_REJECTED,
        request=request,
        practitioner=request.practitioner,
        actor=reviewer,
        comment="\n".join([", ".join(site.label for site in sites)] + ([reason] if reason else [])),
    )
    return sites


@transaction.atomic
def accreditation_request_approve(
    *, request: AccreditationRequest, reviewer: User, base_url: str = ""
) -> AccreditationRequest:
    """Approve the pending sites ``reviewer`` decides; conclude the request if none is left."""
    locked = _locked(request)
    _awaiting_decision(locked)
    _decide_sites(request=locked, reviewer=reviewer, decision=Decision.APPROVED)
    return _conclude(request=locked, reviewer=reviewer, base_url=base_url)


@transaction.atomic
def accreditation_request_reject(
    *, request: AccreditationRequest, reviewer: User, reason: str, base_url: str = ""
) -> AccreditationRequest:
    """Reject the pending sites ``reviewer`` decides, with a reason the applicant reads."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Le motif du refus est obligatoire.")]})
    locked = _locked(request)
    _awaiting_decision(locked)
    _decide_sites(request=locked, reviewer=reviewer, decision=Decision.REJECTED, reason=reason)
    return _conclude(request=locked, reviewer=reviewer, base_url=base_url)


def _conclude(
    *, request: AccreditationRequest, reviewer: User, base_url: str
) -> AccreditationRequest:
    sites = list(request.sites.select_related("establishment"))
    if any(site.decision == Decision.PENDING for site in sites):
        return request
    approved = [site for site in sites if site.decision == Decision.APPROVED]
    request.decided_at = timezone.now()
    if approved:
        _grant(request=request, sites=approved, reviewer=reviewer)
        request.status = AccreditationRequest.Status.APPROVED
        request.save(
            update_fields=["status", "decided_at", "practitioner", "accreditation", "updated_at"]
        )
        event_record(
            kind=Kind.APPROVED,
            request=request,
            practitioner=request.practitioner,
            accreditation=request.accreditation,
            actor=reviewer,
        )
        mail_users(
            users=[request.user],
            subject=gettext_noop("Votre habilitation est accordée"),
            template="emails/practitioners/request_approved.txt",
            context={
                "request": request,
                "accreditation": request.accreditation,
                "sites": approved,
                "rejected": [site for site in sites if site.decision == Decision.REJECTED],
                "url": link(base_url, reverse("practitioners:my_accreditation")),
            },
        )
        return request
    request.status = AccreditationRequest.Status.REJECTED
    request.save(update_fields=["status", "decided_at", "updated_at"])
    reasons = "\n".join(f"{site.label} : {site.reason}" for site in sites)
    event_record(
        kind=Kind.REJECTED,
        request=request,
        practitioner=request.practitioner,
        actor=reviewer,
        comment=reasons,
    )
    mail_users(
        users=[request.user],
        subject=gettext_noop("Votre demande d'habilitation est refusée"),
        template="emails/practitioners/request_rejected.txt",
        context={"request": request, "sites": sites, "url": _request_url(base_url, request)},
    )
    return request


def _practitioner_for(request: AccreditationRequest) -> Practitioner:
    """Create or update the practitioner the request names, linked to the applicant."""
    field_name = "rpps" if request.identifier_type == IdentifierType.RPPS else "adeli"
    practitioner = (
        Practitioner.objects.select_for_update(of=("self",))
        .filter(**{field_name: request.identifier})
        .first()
    )
    if practitioner is None:
        practitioner = (
            Practitioner.objects.select_for_update(of=("self",)).filter(user=request.user).first()
        )
        if practitioner is not None and getattr(practitioner, field_name) not in (
            None,
            request.identifier,
        ):
            raise ValidationError(_("Le compte du demandeur est rattaché à un autre numéro."))
    if practitioner is not None and practitioner.user_id not in (None, request.user_id):
        raise ValidationError(_("Ce numéro est déjà rattaché à un autre compte du portail."))
    practitioner = practitioner or Practitioner()
    practitioner.user = request.user
    setattr(practitioner, field_name, request.identifier)
    practitioner.first_name = request.first_name
    practitioner.last_name = request.last_name
    practitioner.profession_code = request.profession_code
    practitioner.specialty_code = request.specialty_code
    practitioner.email = request.email
    if request.phone:
        practitioner.phone = request.phone
    practitioner.save()
    return practitioner


def _practice_site_for(
    *, practitioner: Practitioner, site: AccreditationRequestSite
) -> PracticeSite:
    current = PracticeSite.objects.exclude(status=PracticeSite.Status.ENDED).filter(
        practitioner=practitioner
    )
    if site.establishment_id:
        current = current.filter(establishment_id=site.establishment_id)
    else:
        current = current.filter(
            establishment__isnull=True,
            practice_name__iexact=site.practice_name,
            postal_code=site.postal_code,
        )
    practice_site = current.first()
    if practice_site is None:
        return PracticeSite.objects.create(
            practitioner=practitioner,
            establishment_id=site.establishment_id,
            practice_name=site.practice_name,
            address=site.address,
            postal_code=site.postal_code,
            city=site.city,
        )
    if practice_site.status != PracticeSite.Status.ACTIVE:
        practice_site.status = PracticeSite.Status.ACTIVE
        practice_site.is_leaver = False
        practice_site.status_reason = ""
        practice_site.save(update_fields=["status", "is_leaver", "status_reason", "updated_at"])
    return practice_site


def _grant(
    *, request: AccreditationRequest, sites: list[AccreditationRequestSite], reviewer: User
) -> None:
    practitioner = _practitioner_for(request)
    for site in sites:
        site.practice_site = _practice_site_for(practitioner=practitioner, site=site)
    AccreditationRequestSite.objects.bulk_update(sites, ["practice_site"])
    today = timezone.localdate()
    request.practitioner = practitioner
    request.accreditation = Accreditation.objects.create(
        practitioner=practitioner,
        valid_from=today,
        valid_until=today + datetime.timedelta(days=validity_days()),
        granted_by=reviewer,
    )
    # The request's earlier events now belong to the practitioner's history too.
    AccreditationEvent.objects.filter(request=request, practitioner__isnull=True).update(
        practitioner=practitioner
    )


@transaction.atomic
def accreditation_request_ask_info(
    *, request: AccreditationRequest, reviewer: User, message: str, base_url: str = ""
) -> AccreditationRequest:
    """Pause the request and ask the applicant a question; their answer resumes the review."""
    message = message.strip()
    if not message:
        raise ValidationError({"message": [_("Précisez le complément attendu.")]})
    locked = _locked(request)
    _awaiting_decision(locked)
    if not sites_decidable_by(user=reviewer, request=locked):
        raise ValidationError(
            _("Aucun lieu d'exercice de cette demande n'attend votre décision."),
            code="nothing_to_decide",
        )
    locked.status = AccreditationRequest.Status.INFO_REQUESTED
    locked.pending_question = message
    locked.save(update_fields=["status", "pending_question", "updated_at"])
    event_record(
        kind=Kind.INFO_REQUESTED,
        request=locked,
        practitioner=locked.practitioner,
        actor=reviewer,
        comment=message,
    )
    mail_users(
        users=[locked.user],
        subject=gettext_noop("Votre demande d'habilitation : un complément est demandé"),
        template="emails/practitioners/request_info_requested.txt",
        context={
            "request": locked,
            "message": message,
            "url": link(base_url, reverse("practitioners:request_answer", args=[locked.pk])),
        },
    )
    return locked


@transaction.atomic
def accreditation_request_provide_info(
    *, request: AccreditationRequest, user: User, answer: str, base_url: str = ""
) -> AccreditationRequest:
    """The applicant answers the reviewer's question: the request returns to review."""
    answer = answer.strip()
    if not answer:
        raise ValidationError({"answer": [_("Votre réponse est vide.")]})
    locked = _locked(request)
    if locked.user_id != user.pk:
        raise ValidationError(_("Seul le demandeur peut répondre."), code="not_applicant")
    if locked.status != AccreditationRequest.Status.INFO_REQUESTED:
        raise ValidationError(
            _("Aucun complément n'est attendu sur cette demande."), code="no_question"
        )
    question = locked.pending_question
    locked.status = AccreditationRequest.Status.SUBMITTED
    locked.pending_question = ""
    locked.save(update_fields=["status", "pending_question", "updated_at"])
    event_record(
        kind=Kind.INFO_PROVIDED,
        request=locked,
        practitioner=locked.practitioner,
        actor=user,
        comment=answer,
    )
    pending = [site for site in locked.sites.all() if site.decision == Decision.PENDING]
    mail_users(
        users=reviewers_of_sites(sites=pending),
        subject=gettext_noop("Demande d'habilitation complétée, à examiner"),
        template="emails/practitioners/request_info_provided.txt",
        context={
            "request": locked,
            "question": question,
            "answer": answer,
            "url": _request_url(base_url, locked),
        },
    )
    return locked
