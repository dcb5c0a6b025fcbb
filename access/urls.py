from django.urls import path

from access.views import audit, practitioner, sharing

app_name = "access"

urlpatterns = [
    # Practitioners: their patients, the search, a patient's imaging, a study in the viewer,
    # emergency access.
    path("patients/", practitioner.my_patients, name="my-patients"),
    path("patients/recherche/", practitioner.patient_search, name="patient-search"),
    path("patients/<int:pk>/", practitioner.patient_detail, name="patient-detail"),
    path("patients/<int:pk>/acces-urgence/", practitioner.break_glass_open, name="break-glass"),
    path("examens/<int:pk>/visionneuse/", practitioner.study_viewer_open, name="study-viewer"),
    # Staff of a producing establishment, referents: sharing and opposition.
    path("patients/<int:pk>/partage/", sharing.patient_sharing, name="patient-sharing"),
    path("patients/<int:pk>/partage/autoriser/", sharing.grant_create, name="grant-create"),
    path("patients/<int:pk>/opposition/", sharing.opposition_record, name="opposition-record"),
    path(
        "patients/<int:pk>/opposition/retirer/",
        sharing.opposition_withdraw,
        name="opposition-withdraw",
    ),
    path("patients/<int:pk>/code-acces/", sharing.access_code_issue, name="access-code-issue"),
    path("autorisations/<int:pk>/revoquer/", sharing.grant_revoke, name="grant-revoke"),
    # Auditors: the emergency-access review queue and the access trail.
    path("audit/acces-urgence/", audit.break_glass_queue, name="break-glass-queue"),
    path("audit/acces-urgence/<int:pk>/", audit.break_glass_review, name="break-glass-review"),
    path("audit/traces/", audit.audit_events, name="audit-events"),
    path("audit/traces/export.csv", audit.audit_events_csv, name="audit-events-csv"),
]
