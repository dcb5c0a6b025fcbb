from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from practitioners.psc.provider import ProSanteConnectProvider

urlpatterns = default_urlpatterns(ProSanteConnectProvider)
