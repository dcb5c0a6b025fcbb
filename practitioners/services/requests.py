"""Accreditation requests: submission with its automatic checks, and the reviewers' decisions.

Rule of decision (documented in the request page too): every requested site is decided by its
reviewer; a reviewer's "approve" or "reject" decides the pending sites that are theirs. Once no
site is pending, the request is approved if at least one site was approved (the practitioner is
accredited and practises at the approved sites), and rejected otherwise. Asking for more
information pauses the whole request until the applicant answers.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portal.models import User
from practitioners.models import (
    Accreditation,
    AccreditationEvent,
    AccreditationRequest,
    AccreditationRequestSite,
    IdentifierType,
    PracticeSite,
    Practitioner,
)
from practitioners.selectors import (
    practitioner_for_identifier,
    practitioner_of,
    reviewers_of_sites,
    sites_decidable_by,
)
from practitioners.services.checks import AccreditationRequestData, accreditation_request_check
from practitioners.services.common import (
    event_record,
    link,
    mail_users,
    validity_days,
)

Kind = AccreditationEvent.Kind
Decision = AccreditationRequestSite.Decision


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
