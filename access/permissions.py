"""DRF permissions of the access API.

Object-level checks (may this user see or revoke that grant?) stay in ``access.selectors`` and
the services; these classes only answer "may this caller use the endpoint at all?" and, for
emergency access, "has the caller just confirmed who they are?".
"""

from __future__ import annotations

from typing import Any

from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from portal.roles import HasRole, Role, has_second_factor

# Auditors alone read the trail and review emergency accesses.
IsAuditor = HasRole.of(Role.AUDITOR)
# Those who may give grants: staff of a producing establishment (as practitioners of its care
# team or as its referents) and patients. The service checks the patient itself.
MayShare = HasRole.of(Role.PRACTITIONER, Role.REFERENT, Role.PATIENT)
IsPractitioner = HasRole.of(Role.PRACTITIONER)


class ConfirmedIdentity(BasePermission):
    """The caller has a second factor and confirmed their identity in this session within
    allauth's ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` (its re-authentication page, by password or
    by a code of their authenticator), as the web page's ``reauthentication_required`` asks."""

    message: Any = ""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not has_second_factor(request.user):
            self.message = {
                "detail": _(
                    "Un accès d'urgence demande la double authentification : activez une "
                    "application d'authentification sur votre compte, puis réessayez."
                ),
                "mfa_url": reverse("mfa_index"),
            }
            return False
        if not did_recently_reauthenticate(request._request):
            self.message = {
                "detail": _(
                    "Confirmez votre identité sur le portail (mot de passe ou code de votre "
                    "application d'authentification), puis renvoyez la demande dans les "
                    "minutes qui suivent."
                ),
                "reauthenticate_url": reverse("account_reauthenticate"),
            }
            return False
        return True
