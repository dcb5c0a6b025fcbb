"""The authorization web service of the archives, mounted at ``/orthanc-auth/`` (the
authorization plugin's ``WebServiceRootUrl``)."""

from django.urls import path

from access import orthanc_auth

app_name = "orthanc_auth"

urlpatterns = [
    path("tokens/validate", orthanc_auth.tokens_validate, name="tokens_validate"),
    path("tokens/decode", orthanc_auth.tokens_decode, name="tokens_decode"),
    path("user/get-profile", orthanc_auth.user_get_profile, name="user_get_profile"),
]
