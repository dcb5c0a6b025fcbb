"""Writes of the practitioners app, one module per sub-domain, all importable from here.

- ``checks``: the automatic checks of an accreditation request;
- ``requests``: submission of accreditation requests and the reviewers' decisions;
- ``accreditations``: renewal, reminders, expiry, suspension, reinstatement, revocation;
- ``sites``: practice sites (the telephony directory's leavers and the referent's decision);
- ``common``: the history table, e-mails and the validity settings.
"""

from practitioners.services.accreditations import (
    accreditation_reinstate,
    accreditation_renew,
    accreditation_request_renewal,
    accreditation_revoke,
    accreditation_suspend,
    accreditations_expire,
    accreditations_send_renewal_reminders,
)
from practitioners.services.checks import (
    AccreditationRequestData,
    CityPractice,
    accreditation_request_check,
    normalise_identifier,
)
from practitioners.services.common import reminder_days, validity_days
from practitioners.services.requests import (
    accreditation_request_approve,
    accreditation_request_ask_info,
    accreditation_request_provide_info,
    accreditation_request_reject,
    accreditation_request_submit,
)
from practitioners.services.sites import (
    practice_site_end,
    practice_site_reinstate,
    practice_site_suspend_as_leaver,
)

__all__ = [
    "AccreditationRequestData",
    "CityPractice",
    "accreditation_reinstate",
    "accreditation_renew",
    "accreditation_request_approve",
    "accreditation_request_ask_info",
    "accreditation_request_check",
    "accreditation_request_provide_info",
    "accreditation_request_reject",
    "accreditation_request_renewal",
    "accreditation_request_submit",
    "accreditation_revoke",
    "accreditation_suspend",
    "accreditations_expire",
    "accreditations_send_renewal_reminders",
    "normalise_identifier",
    "practice_site_end",
    "practice_site_reinstate",
    "practice_site_suspend_as_leaver",
    "reminder_days",
    "validity_days",
]
