"""Writes of the reporting app: funder indicators, their milestones and entered values, and
the funder reports (asked for, generated, stored with their SHA-256).

Every function is keyword-only and raises Django's ``ValidationError`` with French messages
(by field when it can) on bad input; multi-step writes are atomic.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from portal.celery import queue_on_commit
from portal.models import User
from reporting.funder_report import render_funder_report
from reporting.indicators import (
    ENTERED,
    UnknownIndicators,
    indicator_code_problem,
    indicators_for,
)
from reporting.models import FunderReport, Indicator, IndicatorMilestone, ManualValue
from reporting.periods import Period, PeriodError, period_parse

logger = logging.getLogger(__name__)

Computation = Indicator.Computation


# --- Indicators --------------------------------------------------------------------------------


def _indicator_errors(
    *, code: str, computation: str, exclude_pk: int | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    problem = indicator_code_problem(code=code, exclude_pk=exclude_pk)
    if problem:
        errors["code"] = [problem]
    if computation not in Computation.values:
        errors["computation"] = [_("Choisissez un calcul de la liste.")]
    return errors


def _check_and_save(indicator: Indicator, errors: dict[str, list[str]]) -> Indicator:
    try:
        indicator.full_clean(exclude=["code"] if "code" in errors else None)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(
                message for message in messages if message not in errors.get(field, [])
            )
    if errors:
        raise ValidationError(errors)
    indicator.save()
    return indicator


@transaction.atomic
def indicator_create(
    *,
    code: str,
    label: str,
    unit: str,
    computation: str,
    target: Decimal,
    baseline: Decimal = Decimal("0"),
    programme: str = "FEDER 2021-2027",
    target_date: datetime.date | None = None,
    method_note: str = "",
    position: int = 0,
    active: bool = True,
) -> Indicator:
    """A new funder indicator; its code is unique (in any case)."""
    code = code.strip()
    indicator = Indicator(
        code=code,
        label=label.strip(),
        unit=unit.strip(),
        computation=computation,
        target=target,
        baseline=baseline,
        programme=programme.strip(),
        target_date=target_date,
        method_note=method_note.strip(),
        position=position,
        active=active,
    )
    errors = _indicator_errors(code=code, computation=computation, exclude_pk=None)
    return _check_and_save(indicator, errors)


@transaction.atomic
def indicator_update(
    *,
    indicator: Indicator,
    code: str,
    label: str,
    unit: str,
    computation: str,
    target: Decimal,
    baseline: Decimal,
    programme: str,
    target_date: datetime.date | None,
    method_note: str,
    position: int,
    active: bool,
) -> Indicator:
    """Change an indicator. Its entered values stay recorded whatever the new computation."""
    code = code.strip()
    errors = _indicator_errors(code=code, computation=computation, exclude_pk=indicator.pk)
    indicator.code = code
    indicator.label = label.strip()
    indicator.unit = unit.strip()
    indicator.computation = computation
    indicator.target = target
    indicator.baseline = baseline
    indicator.programme = programme.strip()
    indicator.target_date = target_date
    indicator.method_note = method_note.strip()
    indicator.position = position
    indicator.active = active
    return _check_and_save(indicator, errors)


@transaction.atomic
def milestone_add(
    *, indicator: Indicator, due_date: datetime.date, value: Decimal
) -> IndicatorMilestone:
    """A value the funder expects by ``due_date``; one milestone per date."""
    if indicator.milestones.filter(due_date=due_date).exists():
        raise ValidationError(
            {
                "due_date": [
                    _("Un jalon est déjà fixé au %(day)s.") % {"day": f"{due_date:%d/%m/%Y}"}
                ]
            }
        )
    milestone = IndicatorMilestone(indicator=indicator, due_date=due_date, value=value)
    milestone.full_clean()
    milestone.save()
    return milestone


def milestone_remove(*, milestone: IndicatorMilestone) -> None:
    """Remove a milestone (reports generated before keep the value they showed)."""
    milestone.delete()


@transaction.atomic
def manual_value_enter(
    *,
    indicator: Indicator,
    period: Period,
    value: Decimal,
    justification: str,
    entered_by: User,
    planned: Decimal | None = None,
) -> ManualValue:
    """Enter ``indicator``'s value for ``period`` (for a share of the regional volume: the
    region's total). It replaces the previous entry for that period in reports; both stay
    recorded, with who entered them, when and why."""
    errors: dict[str, list[str]] = {}
    if indicator.computation not in ENTERED:
        raise ValidationError(
            _(
                "L'indicateur %(code)s est calculé à partir des agrégats : aucune valeur n'est "
                "à saisir."
            )
            % {"code": indicator.code}
        )
    justification = justification.strip()
    if not justification:
        errors["justification"] = [
            _("Justifiez la valeur : sa source, son calcul ou la pièce qui l'établit.")
        ]
    if value < 0:
        errors["value"] = [_("La valeur ne peut pas être négative.")]
    elif indicator.computation == Computation.REGIONAL_VOLUME_SHARE and value == 0:
        errors["value"] = [_("Le volume régional doit être supérieur à zéro.")]
    if planned is not None:
        if indicator.computation != Computation.MANUAL:
            errors["planned"] = [_("Une valeur prévue ne s'applique qu'à une valeur saisie.")]
        elif planned < 0:
            errors["planned"] = [_("La valeur prévue ne peut pas être négative.")]
    if errors:
        raise ValidationError(errors)
    entry = ManualValue(
        indicator=indicator,
        period_start=period.start,
        period_end=period.end,
        value=value,
        planned=planned,
        justification=justification,
        entered_by=entered_by,
        entered_at=timezone.now(),
    )
    entry.full_clean()
    entry.save()
    return entry


# --- Funder reports ----------------------------------------------------------------------------


def _new_report(*, period: Period, codes: Sequence[str], requested_by: User | None) -> FunderReport:
    chosen = indicators_for(codes=codes)  # raises UnknownIndicators before anything is written
    return FunderReport.objects.create(
        period=period.code,
        period_start=period.start,
        period_end=period.end,
        parameters={
            "period": period.code,
            "indicators": [indicator.code for indicator in chosen],
        },
        requested_by=requested_by,
        progress_label=_("En attente d'un processus de production"),
    )


@transaction.atomic
def funder_report_request(
    *, period: Period, codes: Sequence[str] = (), requested_by: User
) -> FunderReport:
    """Ask for ``period``'s report (``codes``: the indicators, by default those followed): it is
    queued, and generated by a worker once this transaction commits."""
    from reporting.tasks import generate_funder_report

    report = _new_report(period=period, codes=codes, requested_by=requested_by)
    queue_on_commit(generate_funder_report, report.pk)
    return report


def _set_progress(report_id: int, percent: int, label: str) -> None:
    # Outside any transaction, so that the page polling the progress sees each step at once.
    FunderReport.objects.filter(pk=report_id).update(progress=percent, progress_label=label)


def _fail(report: FunderReport, message: str) -> FunderReport:
    report.status = FunderReport.Status.FAILED
    report.error = message
    report.progress_label = _("Échec")
    report.finished_at = timezone.now()
    report.save(update_fields=["status", "error", "progress_label", "finished_at"])
    return report


def _file_name(period: Period, moment: datetime.datetime) -> str:
    stamp = timezone.localtime(moment).strftime("%Y%m%d-%H%M%S")
    return f"rapport-financeur-{slugify(period.code)}-{stamp}.pdf"


def funder_report_generate(*, report_id: int) -> FunderReport:
    """Generate the report ``report_id`` and store its file (a new name every time: a stored
    file is never overwritten), SHA-256, size and parameters. A report already done or failed
    is left as it is (a replayed task changes nothing); one left running by a worker that died
    is generated again. Errors are kept on the report, in French."""
    claimed = FunderReport.objects.filter(
        pk=report_id, status__in=(FunderReport.Status.QUEUED, FunderReport.Status.RUNNING)
    ).update(
        status=FunderReport.Status.RUNNING,
        progress=1,
        progress_label=_("Démarrage"),
        error="",
    )
    report = FunderReport.objects.select_related("requested_by").get(pk=report_id)
    if not claimed:
        return report
    try:
        period = period_parse(report.period)
        rendered = render_funder_report(
            period=period,
            codes=report.parameters.get("indicators") or (),
            progress=lambda percent, label: _set_progress(report_id, percent, label),
            requested_by=report.requested_by,
        )
    except (UnknownIndicators, PeriodError) as error:
        return _fail(report, str(error))
    except SoftTimeLimitExceeded:
        return _fail(report, _("La production du rapport a pris trop de temps et a été arrêtée."))
    except Exception:
        logger.exception("funder report %s failed", report_id)
        return _fail(
            report,
            _(
                "La production du rapport a échoué sur une erreur inattendue ; l'équipe "
                "technique en a la trace. Réessayez plus tard."
            ),
        )
    _set_progress(report_id, 95, _("Enregistrement du fichier"))
    return _store(report, rendered.pdf, rendered.sha256, rendered.parameters, period)


@transaction.atomic
def _store(
    report: FunderReport, pdf: bytes, sha256: str, parameters: dict[str, Any], period: Period
) -> FunderReport:
    # The storage never overwrites: an existing name gets a suffix of its own.
    report.file.save(_file_name(period, timezone.now()), ContentFile(pdf), save=False)
    report.sha256 = sha256
    report.size = len(pdf)
    report.parameters = parameters
    report.status = FunderReport.Status.DONE
    report.progress = 100
    report.progress_label = _("Terminé")
    report.finished_at = timezone.now()
    report.save(
        update_fields=[
            "file",
            "sha256",
            "size",
            "parameters",
            "status",
            "progress",
            "progress_label",
            "finished_at",
        ]
    )
    return report


def funder_report_create(
    *, period: Period, codes: Sequence[str] = (), requested_by: User | None = None
) -> FunderReport:
    """Generate ``period``'s report now, in this process (the ``funder_report`` command), and
    record it like one asked for from the portal. ``UnknownIndicators`` before anything is
    written when a code matches none."""
    report = _new_report(period=period, codes=codes, requested_by=requested_by)
    return funder_report_generate(report_id=report.pk)
