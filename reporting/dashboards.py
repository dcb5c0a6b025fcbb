"""The dashboards' content: the tables of the region's and an establishment's pages over a
period, beside the period they are compared with, and the charts drawn from those tables.

Everything is read from the daily rollups through ``reporting.selectors`` (never the trail),
so a page costs the same few queries whatever the number of establishments and days. A page
and its downloads are built from the same ``Table`` objects, and its charts are drawn from
them, so the picture, the table beside it and the file always agree. The pages themselves,
and who may see them, are ``reporting.dashboard_views``.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from functools import cached_property

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import Offer
from establishments.models import Establishment
from reporting.charts import Series, bar_chart, line_chart
from reporting.dashboard_forms import comparison_period
from reporting.exports import Cell, Kind, Table
from reporting.periods import Period
from reporting.selectors import (
    MEASURES,
    Figures,
    Step,
    establishment_figures,
    establishments_table,
    has_partial_weeks,
    members_on,
    region_figures,
    series,
    step_for,
)

# "dont…" lines, indented under the line they break down.
_SUB_MEASURES = {"accreditations_active_hospital", "accreditations_active_city"}
# The charts over time: the table's slug → the measure.
_SERIES = {"examens": "studies_produced", "acces": "outside_accesses"}
_STEP_HEADERS = {
    Step.DAY: gettext_lazy("Jour"),
    Step.WEEK: gettext_lazy("Semaine du"),
    Step.MONTH: gettext_lazy("Mois"),
}


# --- Tables -----------------------------------------------------------------------------------


def _offer_label(code: str) -> str:
    return str(Offer.Code(code).label) if code in Offer.Code.values else code


def _offer_codes(*figures: Figures) -> list[str]:
    """The catalogue's offers in its order, then any other code the rollups name."""
    codes = list(Offer.Code.values)
    named = set().union(*(set(f.members_by_offer) for f in figures))
    return codes + sorted(named - set(codes))


def _change(current: int, previous: int) -> list[Cell]:
    ratio = (current - previous) / previous if previous else None
    return [Cell(current - previous, Kind.CHANGE), Cell(ratio, Kind.RATIO)]


def _indicator_rows(current: Figures, before: Figures) -> list[list[Cell]]:
    """Every measure over the period and the one before, with the difference and trend."""
    return [
        [
            Cell(str(measure.label), Kind.TEXT, level=int(name in _SUB_MEASURES)),
            Cell(current[name]),
            Cell(before[name]),
            *_change(current[name], before[name]),
        ]
        for name, measure in MEASURES.items()
    ]


def _series_table(
    *, slug: str, measure: str, period: Period, establishment: Establishment | None
) -> Table:
    step = step_for(period)
    kind = Kind.MONTH if step is Step.MONTH else Kind.DATE
    label = str(MEASURES[measure].label)
    points = series(measure=measure, period=period, establishment=establishment, step=step)
    # A week cut by the period's edge counts fewer days: its lower value is no dip.
    days = has_partial_weeks(period)
    columns = [str(_STEP_HEADERS[step]), *([str(_("Jours de la période"))] if days else []), label]
    return Table(
        slug=slug,
        caption=_("%(measure)s, %(period)s") % {"measure": label, "period": period.label},
        columns=columns,
        rows=[
            [Cell(point.start, kind), *([Cell(point.days)] if days else []), Cell(point.value)]
            for point in points
        ],
    )


def _line_chart_of(table: Table) -> SafeString:
    def short(row: Sequence[Cell]) -> str:
        cell = row[0]
        assert isinstance(cell.value, datetime.date)
        text = date_format(cell.value, "m/Y" if cell.kind is Kind.MONTH else "d/m")
        # A week cut by the period's edge (its days are the table's middle column).
        return f"{text}*" if len(row) == 3 and row[1].number < 7 else text

    return line_chart(
        title=table.caption,
        labels=[short(row) for row in table.rows],
        series=[Series(table.columns[-1], [row[-1].number for row in table.rows])],
    )


class Dashboard:
    """The tables of one page over a period and the one it is compared with; each figure is
    read once, and an export reads only what its table needs."""

    slugs: tuple[str, ...] = ()
    establishment: Establishment | None = None

    def __init__(self, *, period: Period) -> None:
        self.period = period
        self.previous = comparison_period(period)

    def _figures(self, period: Period) -> Figures:
        raise NotImplementedError

    @cached_property
    def current(self) -> Figures:
        return self._figures(self.period)

    @cached_property
    def before(self) -> Figures:
        return self._figures(self.previous)

    def table(self, slug: str) -> Table:
        """The table ``slug``; ``Http404`` if this page has none of that name."""
        if slug not in self.slugs:
            raise Http404
        built: Table = getattr(self, f"_table_{slug}")()
        return built

    def charts(self, tables: dict[str, Table]) -> dict[str, SafeString]:
        return {slug: _line_chart_of(tables[slug]) for slug in _SERIES}

    def export_url(self, slug: str, fmt: str) -> str:
        raise NotImplementedError

    def filename(self, slug: str) -> str:
        raise NotImplementedError

    @property
    def _code(self) -> str:
        # A range's ".." would read as an extension in some file managers.
        return self.period.code.replace("..", "_")

    def _query(self) -> str:
        return urlencode({"periode": self.period.code})

    def _indicators(self, caption: str) -> Table:
        return Table(
            slug="indicateurs",
            caption=caption,
            columns=[
                _("Indicateur"),
                self.period.label,
                self.previous.label,
                _("Écart"),
                _("Évolution"),
            ],
            rows=_indicator_rows(self.current, self.before),
        )

    def _table_examens(self) -> Table:
        return self._series("examens")

    def _table_acces(self) -> Table:
        return self._series("acces")

    def _series(self, slug: str) -> Table:
        return _series_table(
            slug=slug, measure=_SERIES[slug], period=self.period, establishment=self.establishment
        )


class RegionDashboard(Dashboard):
    slugs = ("indicateurs", "examens", "acces", "etablissements", "offres", "membres")

    def _figures(self, period: Period) -> Figures:
        return region_figures(period=period)

    @property
    def members_day(self) -> datetime.date:
        """The day the members' list describes: the period's last, today at the latest."""
        return min(self.period.end, timezone.localdate())

    def export_url(self, slug: str, fmt: str) -> str:
        return f"{reverse('reporting:region_export', args=[slug, fmt])}?{self._query()}"

    def filename(self, slug: str) -> str:
        return f"pilotage-{self._code}-{slug}"

    def _table_indicateurs(self) -> Table:
        return self._indicators(
            _("Indicateurs de la région, %(period)s") % {"period": self.period.label}
        )

    def _table_etablissements(self) -> Table:
        others = [name for name in MEASURES if name != "studies_produced"]
        return Table(
            slug="etablissements",
            caption=_("Chiffres de chaque établissement, %(period)s")
            % {"period": self.period.label},
            columns=[
                _("Établissement"),
                str(MEASURES["studies_produced"].label),
                _("Part du volume régional"),
                *(str(MEASURES[name].label) for name in others),
            ],
            rows=[
                [
                    Cell(
                        line.establishment.name,
                        Kind.TEXT,
                        href=reverse("reporting:establishment", args=[line.establishment.pk]),
                    ),
                    Cell(line.figures["studies_produced"]),
                    Cell(line.volume_share, Kind.SHARE),
                    *(Cell(line.figures[name]) for name in others),
                ]
                for line in establishments_table(period=self.period)
            ],
        )

    def _table_offres(self) -> Table:
        current, before = self.current.members_by_offer, self.before.members_by_offer
        return Table(
            slug="offres",
            caption=_("Établissements membres par offre (fin de période)"),
            columns=[_("Offre"), self.period.label, self.previous.label, _("Écart")],
            rows=[
                [
                    Cell(_offer_label(code), Kind.TEXT),
                    Cell(current.get(code, 0)),
                    Cell(before.get(code, 0)),
                    Cell(current.get(code, 0) - before.get(code, 0), Kind.CHANGE),
                ]
                for code in _offer_codes(self.current, self.before)
            ],
        )

    def _table_membres(self) -> Table:
        return Table(
            slug="membres",
            caption=_("Établissements membres et leurs offres au %(day)s")
            % {"day": date_format(self.members_day, "SHORT_DATE_FORMAT")},
            columns=[_("Établissement"), _("Offres")],
            rows=[
                [
                    Cell(establishment.name, Kind.TEXT),
                    Cell(", ".join(_offer_label(code) for code in codes), Kind.TEXT),
                ]
                for establishment, codes in members_on(day=self.members_day)
            ],
        )

    def charts(self, tables: dict[str, Table]) -> dict[str, SafeString]:
        charts = super().charts(tables)
        charts["parts"] = bar_chart(
            title=_("Part de chaque établissement dans le volume régional d'imagerie, %(period)s")
            % {"period": self.period.label},
            items=[(str(row[0].value), row[2].number) for row in tables["etablissements"].rows],
            as_share=True,
        )
        return charts


class EstablishmentDashboard(Dashboard):
    slugs = ("indicateurs", "examens", "acces", "offres")

    def __init__(self, *, period: Period, establishment: Establishment) -> None:
        super().__init__(period=period)
        self.establishment = establishment

    def _figures(self, period: Period) -> Figures:
        return establishment_figures(establishment=self._establishment, period=period)

    @property
    def _establishment(self) -> Establishment:
        assert self.establishment is not None
        return self.establishment

    def export_url(self, slug: str, fmt: str) -> str:
        address = reverse(
            "reporting:establishment_export", args=[self._establishment.pk, slug, fmt]
        )
        return f"{address}?{self._query()}"

    def filename(self, slug: str) -> str:
        # The establishment's number, not its name: the file says nothing to whoever finds it.
        return f"pilotage-{self._code}-etablissement-{self._establishment.pk}-{slug}"

    @staticmethod
    def _share(figures: Figures, period: Period) -> float:
        """The establishment's share of the studies the whole region produced over ``period``."""
        total = region_figures(period=period)["studies_produced"]
        return figures["studies_produced"] / total if total else 0.0

    def _table_indicateurs(self) -> Table:
        table = self._indicators(
            _("Indicateurs de l'établissement, %(period)s") % {"period": self.period.label}
        )
        share = self._share(self.current, self.period)
        share_before = self._share(self.before, self.previous)
        rows = list(table.rows)
        rows.insert(
            1,
            [
                Cell(_("Part du volume régional d'imagerie"), Kind.TEXT),
                Cell(share, Kind.SHARE),
                Cell(share_before, Kind.SHARE),
                Cell(share - share_before, Kind.POINTS),
                Cell(None, Kind.RATIO),
            ],
        )
        return Table(slug=table.slug, caption=table.caption, columns=table.columns, rows=rows)

    def _table_offres(self) -> Table:
        def held(figures: Figures, code: str) -> Cell:
            return Cell(_("oui") if figures.members_by_offer.get(code) else _("non"), Kind.TEXT)

        return Table(
            slug="offres",
            caption=_("Offres souscrites (fin de période)"),
            columns=[_("Offre"), self.period.label, self.previous.label],
            rows=[
                [
                    Cell(_offer_label(code), Kind.TEXT),
                    held(self.current, code),
                    held(self.before, code),
                ]
                for code in _offer_codes(self.current, self.before)
            ],
        )
