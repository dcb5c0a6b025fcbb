"""The demo region's telephony directory: CHR Metz-Thionville, as if a sync had just run.

``make demo`` starts no LDAP server: the page shows the last sync's data, and "Synchroniser
maintenant" honestly reports the server as unreachable. Imported by ``practitioners/demo.py``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.utils import timezone

from establishments.demo import establishment
from portal.demo import seed_step
from practitioners.directory_sync import SyncReport, telephony_directory_save
from practitioners.models import PracticeSite, TelephonyDirectory, UnmatchedReason

SUFFIX = "dc=chr-metz-thionville,dc=fr"
PEOPLE = f"ou=personnels,{SUFFIX}"
RADIOLOGIST_RPPS = "10999999013"  # Dr Nicolas Keller (practitioners/demo.py)
RADIOLOGIST = {
    "phone": "0387553131",
    "mobile": "0612345678",
    "department": "Imagerie médicale",
    "directory_dn": f"cn=Nicolas Keller,{PEOPLE}",
}
# The entries the directory holds besides the radiologist (fictitious people).
UNMATCHED = [
    (f"cn=Claire Muller,{PEOPLE}", "Claire Muller", UnmatchedReason.UNKNOWN_RPPS),
    (f"cn=Sarah Henry,{PEOPLE}", "Sarah Henry", UnmatchedReason.UNKNOWN_RPPS),
    (f"cn=Secrétariat d'imagerie,{PEOPLE}", "Secrétariat d'imagerie", UnmatchedReason.NO_MATCH),
]


def _report(synced_at: datetime.datetime) -> SyncReport:
    return SyncReport(
        started_at=synced_at.isoformat(),
        finished_at=(synced_at + datetime.timedelta(seconds=2)).isoformat(),
        entries=1 + len(UNMATCHED),
        matched=1,
        matched_by_rpps=1,
        updated=1,
        unmatched_count=len(UNMATCHED),
        unmatched=[
            {"dn": dn, "name": name, "reason": str(reason)}
            for dn, name, reason in sorted(UNMATCHED, key=lambda row: (row[2], row[1].lower()))
        ],
    )


@seed_step(order=35)
def seed_telephony_directory(log: Callable[[str], None]) -> None:
    place = establishment("chr-metz-thionville")
    synced_at = timezone.now().replace(minute=0, second=0, microsecond=0)
    directory = TelephonyDirectory.objects.filter(establishment=place).first()
    if directory is None:
        directory = telephony_directory_save(
            establishment=place,
            url="ldap://127.0.0.1:13389",
            base_dn=PEOPLE,
            search_filter="(objectClass=inetOrgPerson)",
            bind_dn=f"cn=portail-imagerie,ou=applications,{SUFFIX}",
            password="annuaire-demo-2026",  # noqa: S106 - fictitious, no server behind it
        )
    if not directory.last_report:
        directory.last_report = _report(synced_at).as_json()
        directory.last_sync_at = directory.last_success_at = synced_at
        directory.save(update_fields=["last_report", "last_sync_at", "last_success_at"])
    site = (
        PracticeSite.objects.filter(establishment=place, practitioner__rpps=RADIOLOGIST_RPPS)
        .exclude(status=PracticeSite.Status.ENDED)
        .first()
    )
    if site is not None and not site.directory_dn:
        for name, value in RADIOLOGIST.items():
            setattr(site, name, value)
        site.directory_seen_at = synced_at
        site.save(update_fields=[*RADIOLOGIST, "directory_seen_at", "updated_at"])
    log("annuaire téléphonique : CHR Metz-Thionville (dernière synchronisation conservée)")
