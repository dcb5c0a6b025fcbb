"""Technical administration of the imaging index: read-only.

The index follows the archives (sync), identities change through the referents' pages (which
record who did what) and archive credentials through the archive pages or the
``archive_source`` command; the admin site is for looking. Passwords are never shown.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from imaging.models import ArchiveSource, ImagingStudy, Patient, PatientIdentifier, PatientLinkEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(ArchiveSource)
class ArchiveSourceAdmin(ReadOnlyAdmin):
    list_display = ("establishment", "base_url", "enabled", "state", "cursor", "last_success_at")
    list_filter = ("enabled", "state", "demo")
    exclude = ("password_encrypted", "callback_password_hash")


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = ("id", "display_name", "patient_birth_date", "merged_into", "demo")
    list_filter = ("demo",)


@admin.register(PatientIdentifier)
class PatientIdentifierAdmin(ReadOnlyAdmin):
    list_display = ("establishment", "patient_id", "patient_record", "ins_link_blocked")
    search_fields = ("=patient_id",)
    list_select_related = ("establishment", "patient_record")


@admin.register(ImagingStudy)
class ImagingStudyAdmin(ReadOnlyAdmin):
    list_display = ("study_instance_uid", "establishment", "study_date", "modalities", "deleted_at")
    list_filter = ("demo", "report_available")
    search_fields = ("=study_instance_uid", "=accession_number", "=archive_id")
    list_select_related = ("establishment",)
    date_hierarchy = "study_date"


@admin.register(PatientLinkEvent)
class PatientLinkEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "patient_pk", "other_patient_pk", "identifier", "by_label")
    list_filter = ("action",)
