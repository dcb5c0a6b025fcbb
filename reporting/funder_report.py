"""The funder report of a period: a PDF/A-3b document in French (WeasyPrint), read from the
rollups' selectors and the indicators, rendered from
``templates/reporting/reports/funder_report.html``.

The document holds a cover, a summary of the period beside the previous one, the indicators
against baseline, milestone and target, charts (the same SVG as the dashboards), the figures of
each establishment, the members and their offers on the period's last day, the method notes
(what each figure counts, as ``reporting.rollups`` computes it, and the indicators' own notes),
and "Page N / M" on every page. Storing it (file, SHA-256, parameters) is
``reporting.services``'s job.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.pdf import issuer
from billing.selectors import offers_all
from portal.models import User
from reporting.charts import Series, bar_chart, french_number, french_percent, line_chart
from reporting.indicators import (
    SHARING_OFFER,
    IndicatorValue,
    indicator_values,
    period_last_day,
)
from reporting.models import FunderReport
from reporting.periods import Period
from reporting.selectors import (
    Figures,
    Step,
    establishments_table,
    has_partial_weeks,
    members_on,
    region_figures,
    rollups_complete_until,
    series,
    step_for,
)

TEMPLATE = "reporting/reports/funder_report.html"
PDF_VARIANT = "pdf/a-3b"
# Bars beyond these are unreadable on an A4 page; the table beside lists everyone.
CHART_ESTABLISHMENTS = 15
Progress = Callable[[int, str], None]


def network_name() -> str:
    return str(
        getattr(
            settings,
            "REPORTING_NETWORK_NAME",
            _("Réseau régional de partage d'imagerie médicale"),
        )
    )


@dataclass(frozen=True)
class RenderedReport:
    pdf: bytes
    sha256: str
    parameters: dict[str, Any]


def _change(now: int, before: int) -> str:
    """How ``now`` compares with the previous period, in words."""
    if now == before:
        return _("%(before)s à la période précédente, stable") % {"before": french_number(before)}
    if before == 0:
        return _("0 à la période précédente")
    change = (now - before) / before
    sign = "+" if change > 0 else "−"
    return _("%(before)s à la période précédente, soit %(change)s") % {
        "before": french_number(before),
        "change": sign + french_percent(abs(change)),
    }


def summary_sentences(
    *,
    period: Period,
    figures: Figures,
    previous: Figures,
    members: int,
    members_before: int,
    sharing: int,
    values: Sequence[IndicatorValue],
) -> list[str]:
    """The period's key figures in sentences, each beside the previous period's."""

    def said(singular: str, plural: str, name: str, **more: Any) -> str:
        count = figures[name]
        return ngettext(singular, plural, count) % {
            "count": french_number(count),
            "change": _change(count, previous[name]),
            **more,
        }

    sentences = [
        said(
            "Au cours de la période (%(period)s), les établissements ont produit %(count)s "
            "examen d'imagerie (%(change)s).",
            "Au cours de la période (%(period)s), les établissements ont produit %(count)s "
            "examens d'imagerie (%(change)s).",
            "studies_produced",
            period=period.label,
        ),
        said(
            "Des professionnels extérieurs à l'établissement producteur les ont consultés "
            "%(count)s fois (%(change)s).",
            "Des professionnels extérieurs à l'établissement producteur les ont consultés "
            "%(count)s fois (%(change)s).",
            "outside_accesses",
        ),
        said(
            "%(count)s professionnel distinct a ouvert des images (%(change)s).",
            "%(count)s professionnels distincts ont ouvert des images (%(change)s).",
            "practitioners_accessing",
        ),
        said(
            "%(count)s patient a consulté ses examens sur le portail (%(change)s).",
            "%(count)s patients ont consulté leurs examens sur le portail (%(change)s).",
            "portal_patients",
        ),
        said(
            "%(count)s accès d'urgence (bris de glace) a été ouvert (%(change)s).",
            "%(count)s accès d'urgence (bris de glace) ont été ouverts (%(change)s).",
            "break_glass",
        ),
        said(
            "En fin de période, %(count)s professionnel était habilité (%(change)s) : "
            "%(hospital)s à l'hôpital, %(city)s en ville.",
            "En fin de période, %(count)s professionnels étaient habilités (%(change)s) : "
            "%(hospital)s à l'hôpital, %(city)s en ville.",
            "accreditations_active",
            hospital=french_number(figures["accreditations_active_hospital"]),
            city=french_number(figures["accreditations_active_city"]),
        ),
        said(
            "En fin de période, %(count)s examen était partagé hors de son établissement "
            "producteur (%(change)s).",
            "En fin de période, %(count)s examens étaient partagés hors de leur établissement "
            "producteur (%(change)s).",
            "studies_shared",
        ),
        ngettext(
            "%(count)s établissement était membre du réseau (%(change)s), dont %(sharing)s "
            "raccordé(s) au partage d'images.",
            "%(count)s établissements étaient membres du réseau (%(change)s), dont %(sharing)s "
            "raccordés au partage d'images.",
            members,
        )
        % {
            "count": french_number(members),
            "change": _change(members, members_before),
            "sharing": french_number(sharing),
        },
    ]
    if values:
        sentences.append(
            _(
                "Indicateurs suivis : %(total)s ; en bonne voie : %(on_track)s ; en retard : "
                "%(late)s ; sans valeur pour la période : %(missing)s."
            )
            % {
                "total": len(values),
                "on_track": sum(1 for value in values if value.on_track is True),
                "late": sum(1 for value in values if value.on_track is False),
                "missing": sum(1 for value in values if value.value is None),
            }
        )
    return sentences


def _labels(points: Sequence[Any]) -> list[str]:
    # An asterisk on a week cut by the period's edge (the step's label says so).
    return [f"{point.start:%d/%m}{'*' if point.partial else ''}" for point in points]


def _charts(period: Period, lines: Sequence[Any]) -> dict[str, str]:
    produced = series(measure="studies_produced", period=period)
    outside = series(measure="outside_accesses", period=period)
    chosen = [line for line in lines if line.figures["studies_produced"]][:CHART_ESTABLISHMENTS]
    return {
        "produced": line_chart(
            title=_("Examens produits"),
            labels=_labels(produced),
            series=[Series(_("Examens produits"), [point.value for point in produced])],
            unit=_("examens"),
        ),
        "outside": line_chart(
            title=_("Consultations par des professionnels extérieurs"),
            labels=_labels(outside),
            series=[Series(_("Consultations extérieures"), [point.value for point in outside])],
            unit=_("consultations"),
        ),
        "share": bar_chart(
            title=_("Part de chaque établissement dans le volume d'examens du réseau"),
            items=[(line.establishment.name, line.volume_share) for line in chosen],
            value_label=_("part des examens produits"),
            as_share=True,
        ),
    }


def _step_label(period: Period) -> str:
    if has_partial_weeks(period):
        return _(
            "un point par semaine (lundi) ; * : semaine incomplète, coupée par le début ou la "
            "fin de la période"
        )
    return {
        Step.DAY: _("un point par jour"),
        Step.WEEK: _("un point par semaine (lundi)"),
        Step.MONTH: _("un point par mois"),
    }[step_for(period)]


def report_context(
    *, period: Period, codes: Sequence[str] | None, progress: Progress
) -> dict[str, Any]:
    """Everything the template shows. ``UnknownIndicators`` when a code matches none."""
    progress(5, _("Calcul des indicateurs"))
    values = indicator_values(period=period, codes=codes)
    last_day = period_last_day(period)
    complete_until = rollups_complete_until()
    progress(20, _("Chiffres de la région et des établissements"))
    figures = region_figures(period=period)
    previous_period = period.preceding()
    previous = region_figures(period=previous_period)
    lines = establishments_table(period=period)
    offer_names = {offer.code: offer.name for offer in offers_all()}
    listed = members_on(day=last_day)
    members = [
        (establishment, [offer_names.get(code, code) for code in offer_codes])
        for establishment, offer_codes in listed
    ]
    sharing = sum(1 for _establishment, offer_codes in listed if SHARING_OFFER in offer_codes)
    members_before = len(members_on(day=previous_period.end))
    progress(40, _("Graphiques"))
    charts = _charts(period, lines)
    programmes = sorted(
        {value.indicator.programme for value in values if value.indicator.programme}
    )
    return {
        "period": period,
        "previous_period": previous_period,
        "last_day": last_day,
        "complete_until": complete_until,
        "incomplete": complete_until is None or complete_until < period.end,
        "programmes": programmes,
        "network": network_name(),
        "issuer": issuer(),
        "values": values,
        "figures": figures,
        "summary": summary_sentences(
            period=period,
            figures=figures,
            previous=previous,
            members=len(members),
            members_before=members_before,
            sharing=sharing,
            values=values,
        ),
        "lines": [(line, french_percent(line.volume_share)) for line in lines],
        "members": members,
        "charts": charts,
        "step_label": _step_label(period),
        "entered": [value for value in values if value.entry is not None],
    }


def render_funder_report(
    *,
    period: Period,
    codes: Sequence[str] | None = None,
    progress: Progress | None = None,
    requested_by: User | None = None,
) -> RenderedReport:
    """The PDF of ``period``'s report and the parameters that made it."""
    from weasyprint import HTML

    tell = progress or (lambda percent, label: None)
    generated_at = timezone.now()
    with translation.override("fr"), timezone.override(settings.TIME_ZONE):
        context = report_context(period=period, codes=codes, progress=tell)
        context["generated_at"] = generated_at
        context["requested_by"] = requested_by
        tell(55, _("Mise en page du document"))
        html = render_to_string(TEMPLATE, context)
        tell(70, _("Production du PDF"))
    pdf = HTML(string=html).write_pdf(pdf_variant=PDF_VARIANT)
    complete_until: datetime.date | None = context["complete_until"]
    parameters = {
        "period": period.code,
        "period_label": period.label,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "indicators": [value.indicator.code for value in context["values"]],
        "generated_at": generated_at.isoformat(),
        "rollups_complete_until": complete_until.isoformat() if complete_until else None,
        "stocks_read_on": context["last_day"].isoformat(),
    }
    return RenderedReport(pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), parameters=parameters)


def funder_reports_recent(*, limit: int = 50) -> QuerySet[FunderReport]:
    """The latest reports, newest first, with who asked for them (one query)."""
    return FunderReport.objects.select_related("requested_by").order_by("-created_at", "-id")[
        :limit
    ]


def funder_report_get(*, pk: int) -> FunderReport | None:
    return FunderReport.objects.select_related("requested_by").filter(pk=pk).first()


def funder_report_downloadable(*, pk: int) -> FunderReport | None:
    """The report ``pk`` when its file is ready, None otherwise (the view answers 404)."""
    return (
        FunderReport.objects.filter(pk=pk, status=FunderReport.Status.DONE).exclude(file="").first()
    )
