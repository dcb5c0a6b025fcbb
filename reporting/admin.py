"""Technical administration of the reporting app. Indicators are edited on the portal's pages
(``/pilotage/indicateurs/``, whose services check codes and justifications); here rollups,
entered values and generated reports are for looking only: a report's file and SHA-256, or an
entry's justification, must not change behind the portal's back."""

from __future__ import annotations

from django.contrib import admin

from billing.admin import ReadOnlyMixin
from reporting.models import (
    DailyRollup,
    FunderReport,
    Indicator,
    IndicatorMilestone,
    ManualValue,
    RollupState,
)


class MilestoneInline(ReadOnlyMixin, admin.TabularInline):
    model = IndicatorMilestone
    extra = 0


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("code", "label", "programme", "computation", "baseline", "target", "active")
    list_filter = ("programme", "computation", "active")
    search_fields = ("code", "label")
    inlines = [MilestoneInline]


@admin.register(ManualValue)
class ManualValueAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("indicator", "period_start", "period_end", "value", "planned", "entered_by")
    list_filter = ("indicator",)
    list_select_related = ("indicator", "entered_by")


@admin.register(FunderReport)
class FunderReportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("period", "status", "requested_by", "created_at", "sha256", "size")
    list_filter = ("status",)
    list_select_related = ("requested_by",)


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("day", "establishment", "studies_produced", "outside_accesses")
    list_filter = ("day",)
    list_select_related = ("establishment",)
    date_hierarchy = "day"


@admin.register(RollupState)
class RollupStateAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("complete_until", "updated_at")
