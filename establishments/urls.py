"""HTML pages of the establishments app (French paths)."""

from django.urls import path

from establishments import views

app_name = "establishments"

urlpatterns = [
    # Regional administrators: the network and its review queue.
    path("etablissements/", views.establishment_list, name="list"),
    path("etablissements/<int:pk>/", views.establishment_detail, name="detail"),
    path(
        "etablissements/<int:pk>/statut/",
        views.establishment_change_status_view,
        name="change_status",
    ),
    path("adhesion/demandes/", views.application_list, name="application_list"),
    path("adhesion/demandes/<int:pk>/", views.application_detail, name="application_detail"),
    path(
        "adhesion/demandes/<int:pk>/justificatif/",
        views.application_proof,
        name="application_proof",
    ),
    path(
        "adhesion/demandes/<int:pk>/approuver/",
        views.application_approve,
        name="application_approve",
    ),
    path(
        "adhesion/demandes/<int:pk>/refuser/", views.application_reject, name="application_reject"
    ),
    # Anyone signed in: declaring one's establishment.
    path("adhesion/declarer/", views.declare, name="declare"),
    path("adhesion/finess/", views.finess_search_view, name="finess_search"),
    path("adhesion/mes-demandes/", views.my_applications, name="my_applications"),
    path(
        "adhesion/mes-demandes/<int:pk>/retirer/",
        views.application_withdraw,
        name="application_withdraw",
    ),
    # Directors and referents.
    path("mon-etablissement/", views.mine, name="mine"),
    path("mon-etablissement/<int:pk>/", views.member_detail, name="member_detail"),
    path("mon-etablissement/<int:pk>/inviter/", views.invite, name="invite"),
    path(
        "mon-etablissement/<int:pk>/invitations/<int:invitation_pk>/annuler/",
        views.invitation_revoke_view,
        name="invitation_revoke",
    ),
    path(
        "mon-etablissement/<int:pk>/membres/<int:membership_pk>/retirer/",
        views.member_remove,
        name="member_remove",
    ),
    # The invited person.
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
]
