"""Telephony directories: the referent's configuration, the connection test, and the sync.

The sync reads the whole directory first (``practitioners.telephony``), then applies it in one
transaction: an unreachable or misconfigured directory records its error on the directory and
changes nothing else. Entries are matched to the practitioners who practise at the
establishment (a practice site that has not ended), by RPPS and then by e-mail; matched sites get
the directory's phones and department and remember their entry (``directory_dn``). A practitioner
with an active site whose entry has gone is suspended there as a leaver, until the referent
decides; one never found in the directory is only reported. A second run with an unchanged
directory writes nothing on practice sites.
"""

from practitioners.directory_sync.config import (
    configuration_errors,
    telephony_directory_save,
    telephony_directory_test_connection,
)
from practitioners.directory_sync.selectors import (
    can_configure_directory,
    directories_to_sync,
    directory_establishments_for,
    directory_for_finess,
    directory_of,
    establishment_for_directory,
    pending_leavers,
)
from practitioners.directory_sync.sync import (
    LEAVER_REASON,
    UNMATCHED_LIST_LIMIT,
    SyncReport,
    directory_sync,
    normalise_phone,
    rpps_from_directory,
    sync_all,
)

__all__ = [
    "LEAVER_REASON",
    "UNMATCHED_LIST_LIMIT",
    "SyncReport",
    "can_configure_directory",
    "configuration_errors",
    "directories_to_sync",
    "directory_establishments_for",
    "directory_for_finess",
    "directory_of",
    "directory_sync",
    "establishment_for_directory",
    "normalise_phone",
    "pending_leavers",
    "rpps_from_directory",
    "sync_all",
    "telephony_directory_save",
    "telephony_directory_test_connection",
]
