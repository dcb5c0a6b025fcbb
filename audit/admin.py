"""The trail in the technical admin: read only. Rows are written by the access decision alone,
and leave only through the retention command; the admin can change neither."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from audit.models import AccessEvent, RetentionAnchor, RetentionRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CappedCountPaginator(Paginator):
    """Counts at most ``CAP`` rows: an exact COUNT(*) over millions of traces takes seconds."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        objects = self.object_list
        if isinstance(objects, QuerySet):
            return objects[: self.CAP].count()
        return len(objects)


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = (
        "chain",
        "chain_seq",
        "recorded_at",
        "actor_label",
        "actor_role",
        "patient_id",
        "study_id",
        "action",
        "channel",
        "granted",
        "rule",
    )
    list_filter = ("granted", "rule", "channel", "action", "actor_role")
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50


class RetentionAnchorInline(admin.TabularInline):
    """Where each chain stood at the end of the purged month."""

    model = RetentionAnchor
    fields = ("chain", "row_count", "first_seq", "last_seq", "last_hash")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    inlines = (RetentionAnchorInline,)
    list_display = (
        "month",
        "row_count",
        "partition",
        "export_path",
        "export_sha256",
        "retention_months",
        "ran_at",
    )
