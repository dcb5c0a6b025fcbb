"""The patient portal's pages, under /mon-dossier/. The ids they carry name a study, a grant or
an emergency access of the signed-in patient's own record (never the patient)."""

from django.urls import path

from access.views import patient

app_name = "patient_portal"

urlpatterns = [
    path("", patient.exams, name="exams"),
    path("activer/", patient.activate, name="activate"),
    path("bienvenue/", patient.welcome, name="welcome"),
    path("examens/<int:pk>/compte-rendu/", patient.report_download, name="report"),
    path("examens/<int:pk>/visionneuse/", patient.viewer_open, name="viewer"),
    path("consultations/", patient.history, name="history"),
    path("acces-urgence/<int:pk>/vu/", patient.emergency_acknowledge, name="emergency-acknowledge"),
    path("partage/", patient.choices, name="choices"),
    path("partage/autoriser/", patient.grant_create, name="grant-create"),
    path("partage/<int:pk>/retirer/", patient.grant_revoke, name="grant-revoke"),
    path("partage/opposition/", patient.opposition_record, name="opposition-record"),
    path("partage/opposition/retirer/", patient.opposition_withdraw, name="opposition-withdraw"),
]
