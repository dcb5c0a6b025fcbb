"""The sync: read the whole directory, then apply it to the establishment's practice sites in
one transaction (see the package's docstring)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from practitioners.directory_sync.config import bind_password, clean_mapping
from practitioners.models import PracticeSite, TelephonyDirectory, UnmatchedReason
from practitioners.selectors import practice_sites_at
from practitioners.services import practice_site_suspend_as_leaver
from practitioners.telephony import (
    DEFAULT_PAGE_SIZE,
    DirectoryEntry,
    DirectoryError,
    DirectoryProtocolError,
    DirectorySettings,
    TelephonyDirectoryClient,
)

logger = logging.getLogger(__name__)

LEAVER_REASON = "absent de l'annuaire téléphonique"
# A report lists at most this many unmatched entries (their count is always complete).
UNMATCHED_LIST_LIMIT = 200

_PHONE_CHARACTERS = frozenset("+0123456789")


# --- The sync ------------------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What one sync saw and did; stored as JSON in ``TelephonyDirectory.last_report``."""

    started_at: str = ""
    finished_at: str = ""
    entries: int = 0
    matched: int = 0
    matched_by_rpps: int = 0
    matched_by_email: int = 0
    updated: int = 0
    unchanged: int = 0
    unmatched_count: int = 0
    # {"dn", "name", "reason"}: at most UNMATCHED_LIST_LIMIT, by reason then name.
    unmatched: list[dict[str, str]] = field(default_factory=list)
    # Suspended by this run: {"site", "practitioner", "name", "rpps"}.
    leavers: list[dict[str, Any]] = field(default_factory=list)
    # Leavers suspended earlier and back in the directory, awaiting the referent's decision.
    returned: list[dict[str, Any]] = field(default_factory=list)
    # Active here but never found in the directory (or kept by the referent after leaving it).
    not_found: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SyncReport:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in (data or {}).items() if key in known})


def normalise_phone(value: str) -> str:
    """A phone number as the portal stores it: digits and "+" only ("03 87 55 31 31" →
    "0387553131"), so that a change of spacing in the directory is not a change."""
    return "".join(character for character in value if character in _PHONE_CHARACTERS)[:32]


def rpps_from_directory(value: str) -> str:
    """The RPPS in a directory value: as is, or inside an IDNPS ("8" + RPPS) some directories
    keep instead."""
    value = "".join(value.split())
    if len(value) == 12 and value.startswith("8") and value.isdigit():
        return value[1:]
    return value


def _person(site: PracticeSite) -> dict[str, Any]:
    practitioner = site.practitioner
    return {
        "site": site.pk,
        "practitioner": practitioner.pk,
        "name": str(practitioner),
        "rpps": practitioner.rpps or "",
    }


@dataclass
class _Plan:
    """Which entry goes to which practice site, decided before anything is written."""

    matches: dict[int, tuple[DirectoryEntry, str]] = field(default_factory=dict)
    # Sites an entry names although it could not be applied: present, so not leavers.
    mentioned: set[int] = field(default_factory=set)
    unmatched: list[tuple[DirectoryEntry, str]] = field(default_factory=list)


def _plan(
    *, entries: Sequence[DirectoryEntry], sites: Sequence[PracticeSite], mapping: Mapping[str, str]
) -> _Plan:
    rpps_attribute, email_attribute = mapping.get("rpps", ""), mapping.get("email", "")
    by_rpps = {site.practitioner.rpps: site for site in sites if site.practitioner.rpps}
    by_email: dict[str, list[PracticeSite]] = defaultdict(list)
    for site in sites:
        if site.practitioner.email:
            by_email[site.practitioner.email.strip().lower()].append(site)

    def emails_of(entry: DirectoryEntry) -> set[str]:
        if not email_attribute:
            return set()
        return {value.strip().lower() for value in entry.values(email_attribute) if value.strip()}

    entries = sorted(entries, key=lambda entry: entry.dn.lower())  # servers return any order
    entries_per_email = Counter(email for entry in entries for email in emails_of(entry))
    found: dict[int, list[tuple[DirectoryEntry, str]]] = defaultdict(list)
    plan = _Plan()
    for entry in entries:
        rpps = rpps_from_directory(entry.first(rpps_attribute)) if rpps_attribute else ""
        if rpps and rpps in by_rpps:
            found[by_rpps[rpps].pk].append((entry, "rpps"))
            continue
        emails = emails_of(entry)
        candidates = {site.pk: site for email in emails for site in by_email.get(email, [])}
        if rpps:
            # An RPPS we do not know: the e-mail may still name someone recorded without RPPS,
            # never someone whose RPPS is another.
            candidates = {pk: site for pk, site in candidates.items() if not site.practitioner.rpps}
        if not candidates:
            reason = UnmatchedReason.UNKNOWN_RPPS if rpps else UnmatchedReason.NO_MATCH
            plan.unmatched.append((entry, reason))
        elif len(candidates) > 1:
            plan.unmatched.append((entry, UnmatchedReason.SHARED_EMAIL))
            plan.mentioned.update(candidates)
        elif any(entries_per_email[email] > 1 for email in emails if email in by_email):
            plan.unmatched.append((entry, UnmatchedReason.AMBIGUOUS_EMAIL))
            plan.mentioned.update(candidates)
        else:
            found[next(iter(candidates))].append((entry, "email"))
    for site_pk, matched in found.items():
        if len(matched) == 1:
            plan.matches[site_pk] = matched[0]
        else:
            plan.unmatched.extend((entry, UnmatchedReason.DUPLICATE) for entry, _how in matched)
            plan.mentioned.add(site_pk)
    return plan


def _directory_values(entry: DirectoryEntry, mapping: Mapping[str, str]) -> dict[str, str]:
    """The practice site's fields as the directory gives them (only the mapped ones)."""
    values = {"directory_dn": entry.dn[:500]}
    if mapping.get("phone"):
        values["phone"] = normalise_phone(entry.first(mapping["phone"]))
    if mapping.get("mobile"):
        values["mobile"] = normalise_phone(entry.first(mapping["mobile"]))
    if mapping.get("department"):
        values["department"] = entry.first(mapping["department"])[:200]
    return values


def _read_directory(directory: TelephonyDirectory, *, page_size: int) -> list[DirectoryEntry]:
    client = TelephonyDirectoryClient(
        DirectorySettings(
            url=directory.url,
            base_dn=directory.base_dn,
            search_filter=directory.search_filter,
            bind_dn=directory.bind_dn,
            password=bind_password(directory) if directory.bind_dn else "",
        )
    )
    mapping = clean_mapping(directory.attribute_mapping)
    entries = client.entries(
        attributes=[name for name in mapping.values() if name], page_size=page_size
    )
    if not entries:
        # Suspending everyone because a filter matches nobody would be a disaster to undo.
        raise DirectoryProtocolError(
            _(
                "L'annuaire n'a renvoyé aucune entrée : vérifiez le DN de base et le filtre de "
                "recherche. Rien n'a été modifié."
            )
        )
    return entries


@transaction.atomic
def _apply(
    *, directory_pk: int, entries: Sequence[DirectoryEntry], started: Any
) -> tuple[TelephonyDirectory, SyncReport]:
    # The lock makes two syncs of one directory (beat and the button) apply one after the other.
    directory = TelephonyDirectory.objects.select_for_update().get(pk=directory_pk)
    mapping = clean_mapping(directory.attribute_mapping)
    sites = list(practice_sites_at(establishment=directory.establishment).order_by("pk"))
    plan = _plan(entries=entries, sites=sites, mapping=mapping)
    now = timezone.now()
    report = SyncReport(started_at=started.isoformat(), entries=len(entries))

    for site in sites:
        if site.pk not in plan.matches:
            continue
        entry, how = plan.matches[site.pk]
        report.matched += 1
        if how == "rpps":
            report.matched_by_rpps += 1
        else:
            report.matched_by_email += 1
        if site.is_leaver and site.status == PracticeSite.Status.SUSPENDED:
            report.returned.append(_person(site))  # stays suspended: the referent decides
        values = _directory_values(entry, mapping)
        changed = [name for name, value in values.items() if getattr(site, name) != value]
        if changed or site.directory_seen_at is None:
            for name in changed:
                setattr(site, name, values[name])
            site.directory_seen_at = now
            site.save(update_fields=[*changed, "directory_seen_at", "updated_at"])
            report.updated += 1
        else:
            report.unchanged += 1

    present = set(plan.matches) | plan.mentioned
    absent = [
        site
        for site in sites
        if site.pk not in present and site.status == PracticeSite.Status.ACTIVE
    ]
    # Only someone the directory listed before has left it. A practitioner never found there
    # (or kept by the referent after leaving) is reported, not suspended again and again.
    leavers = [site for site in absent if site.directory_dn]
    report.not_found = [_person(site) for site in absent if not site.directory_dn]
    if leavers and not present:
        # Nobody at all recognised while people practise here: the mapping or the filter is
        # wrong, not the whole staff gone.
        raise DirectoryProtocolError(
            _(
                "Aucune entrée de l'annuaire ne correspond à un professionnel de l'établissement : "
                "vérifiez la correspondance des attributs et le filtre. Rien n'a été modifié."
            )
        )
    for site in leavers:
        # The entry is gone; forgetting it also marks a site the referent reinstates as "not
        # in the directory" rather than "left again".
        site.directory_dn = ""
        site.save(update_fields=["directory_dn", "updated_at"])
        practice_site_suspend_as_leaver(site=site, reason=LEAVER_REASON)
        report.leavers.append(_person(site))

    report.unmatched_count = len(plan.unmatched)
    report.unmatched = [
        {"dn": entry.dn, "name": entry.display_name, "reason": str(reason)}
        for entry, reason in sorted(
            plan.unmatched, key=lambda item: (item[1], item[0].display_name.lower(), item[0].dn)
        )[:UNMATCHED_LIST_LIMIT]
    ]
    report.finished_at = timezone.now().isoformat()
    directory.last_sync_at = started
    directory.last_success_at = started
    directory.last_error = ""
    directory.last_report = report.as_json()
    directory.save(update_fields=["last_sync_at", "last_success_at", "last_error", "last_report"])
    return directory, report


def directory_sync(
    *, directory: TelephonyDirectory, page_size: int = DEFAULT_PAGE_SIZE
) -> SyncReport:
    """Read ``directory`` and apply it to the practice sites of its establishment.

    On failure the error is recorded on the directory (``last_error``, shown to the referent),
    nothing else changes, and the ``DirectoryError`` is raised again for the caller to report.
    """
    started = timezone.now()
    try:
        entries = _read_directory(directory, page_size=page_size)
        saved, report = _apply(directory_pk=directory.pk, entries=entries, started=started)
    except DirectoryError as error:
        directory.last_sync_at = started
        directory.last_error = error.message
        directory.save(update_fields=["last_sync_at", "last_error"])
        logger.warning("telephony directory %s: sync failed (%s)", directory.pk, error.code)
        raise
    directory.last_sync_at = saved.last_sync_at
    directory.last_success_at = saved.last_success_at
    directory.last_error = saved.last_error
    directory.last_report = saved.last_report
    logger.info(
        "telephony directory %s: %s entries, %s matched, %s updated, %s leavers",
        directory.pk,
        report.entries,
        report.matched,
        report.updated,
        len(report.leavers),
    )
    return report


def sync_all(
    *, directories: Iterable[TelephonyDirectory]
) -> dict[int, SyncReport | DirectoryError]:
    """Sync each directory in turn; one failing does not stop the others."""
    outcomes: dict[int, SyncReport | DirectoryError] = {}
    for directory in directories:
        try:
            outcomes[directory.pk] = directory_sync(directory=directory)
        except DirectoryError as error:
            outcomes[directory.pk] = error
    return outcomes
