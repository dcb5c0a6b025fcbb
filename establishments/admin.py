"""Technical administration of establishments: read-mostly, the portal's pages do the work.

Applications, invitations and status history are written by services (with their checks and
e-mails), so the admin only shows them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from establishments.models import (
    DirectorApplication,
    Establishment,
    EstablishmentStatusChange,
    FinessEntry,
    Invitation,
    Membership,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "establishment"
    fields = ("user", "role", "created_at", "ended_at", "ended_by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StatusChangeInline(admin.TabularInline):
    model = EstablishmentStatusChange
    fields = ("changed_at", "from_status", "to_status", "reason", "changed_by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ("name", "finess_eg", "kind", "city", "department", "status")
    list_filter = ("status", "kind", "department")
    search_fields = ("name", "finess_eg", "finess_ej", "city")
    # Status moves go through the portal (history, reason); the admin corrects identity only.
    readonly_fields = ("status", "created_at", "updated_at")
    inlines = (MembershipInline, StatusChangeInline)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "establishment", "role", "created_at", "ended_at")
    list_filter = ("role",)
    search_fields = ("user__email", "user__last_name", "establishment__name")
    list_select_related = ("user", "establishment")


@admin.register(DirectorApplication)
class DirectorApplicationAdmin(ReadOnlyAdmin):
    list_display = ("name", "finess_eg", "applicant", "status", "created_at", "decided_at")
    list_filter = ("status",)
    search_fields = ("name", "finess_eg", "applicant__email")
    list_select_related = ("applicant",)
    # The proof is served by the review page, with its permission check; never linked here.
    exclude = ("proof",)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = (
        "email",
        "establishment",
        "role",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    )
    list_filter = ("role",)
    search_fields = ("email", "establishment__name")
    list_select_related = ("establishment",)
    exclude = ("token_hash",)


@admin.register(FinessEntry)
class FinessEntryAdmin(ReadOnlyAdmin):
    list_display = ("finess", "level", "name", "city", "category_label", "closed_on")
    list_filter = ("level",)
    search_fields = ("finess", "name", "short_name", "city")
