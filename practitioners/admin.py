"""Technical administration of practitioners: read-mostly, the portal's pages do the work."""

from __future__ import annotations

from django.contrib import admin

from practitioners.models import (
    Accreditation,
    AccreditationEvent,
    AccreditationRequest,
    AccreditationRequestSite,
    PracticeSite,
    Practitioner,
    PractitionerReference,
)


class PracticeSiteInline(admin.TabularInline):
    model = PracticeSite
    extra = 0
    fields = ("establishment", "practice_name", "city", "status", "phone", "mobile", "department")
    raw_id_fields = ("establishment",)


class AccreditationInline(admin.TabularInline):
    model = Accreditation
    extra = 0
    fields = ("status", "valid_from", "valid_until", "status_reason", "reminder_sent_at")
    readonly_fields = ("reminder_sent_at",)


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "rpps", "adeli", "profession_code", "specialty_code")
    search_fields = ("last_name", "first_name", "rpps", "adeli", "email")
    raw_id_fields = ("user",)
    inlines = [PracticeSiteInline, AccreditationInline]


@admin.register(PractitionerReference)
class PractitionerReferenceAdmin(admin.ModelAdmin):
    list_display = ("rpps", "adeli", "last_name", "first_name", "profession_code", "imported_at")
    search_fields = ("rpps", "adeli", "last_name")


class RequestSiteInline(admin.TabularInline):
    model = AccreditationRequestSite
    extra = 0
    readonly_fields = ("decision", "decided_by", "decided_at", "reason", "practice_site")
    raw_id_fields = ("establishment",)


@admin.register(AccreditationRequest)
class AccreditationRequestAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "identifier", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("last_name", "identifier", "user__email")
    raw_id_fields = ("user", "practitioner", "accreditation")
    inlines = [RequestSiteInline]


@admin.register(AccreditationEvent)
class AccreditationEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "practitioner", "request", "actor")
    list_filter = ("kind",)
    raw_id_fields = ("practitioner", "request", "accreditation", "practice_site", "actor")

    # The history is append-only: services write it, nobody edits it.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
