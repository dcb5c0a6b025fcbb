"""Practice sites: the care team, the telephony directory's leavers (the contract the directory
sync relies on) and the referent's decision."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from practitioners.models import AccreditationEvent, PracticeSite
from practitioners.selectors import care_team_at, is_in_care_team, practice_sites_at
from practitioners.services import (
    practice_site_end,
    practice_site_reinstate,
    practice_site_suspend_as_leaver,
)
from tests.factories import AccreditationFactory, PractitionerFactory
from tests.practitioners.conftest import active_site
from tests.practitioners.factories import PracticeSiteFactory

pytestmark = pytest.mark.django_db

Kind = AccreditationEvent.Kind


def _events(site: PracticeSite) -> list[str]:
    return list(site.events.order_by("id").values_list("kind", flat=True))


def test_the_care_team_needs_an_active_site_and_an_accreditation_in_force(
    care_team_practitioner, practitioner, hospital, other_hospital
) -> None:
    assert is_in_care_team(user=care_team_practitioner, establishment=hospital)
    assert not is_in_care_team(user=care_team_practitioner, establishment=other_hospital)
    # A practitioner with a site but no accreditation is not in it.
    PracticeSiteFactory(practitioner=PractitionerFactory(), establishment=hospital)
    assert list(care_team_at(establishment=hospital)) == [care_team_practitioner.practitioner]


def test_a_staff_membership_alone_is_not_the_care_team(practitioner, hospital) -> None:
    assert not is_in_care_team(user=practitioner, establishment=hospital)


def test_practice_sites_at_lists_the_non_ended_sites(care_team_practitioner, hospital) -> None:
    ended = PracticeSiteFactory(establishment=hospital, status=PracticeSite.Status.ENDED)
    suspended = PracticeSiteFactory(establishment=hospital, status=PracticeSite.Status.SUSPENDED)
    sites = set(practice_sites_at(establishment=hospital))
    assert sites == {active_site(care_team_practitioner), suspended}
    assert ended not in sites


def test_a_leaver_is_suspended_once_and_the_referent_told(
    care_team_practitioner, referent, hospital, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    site = active_site(care_team_practitioner)
    with django_capture_on_commit_callbacks(execute=True):
        practice_site_suspend_as_leaver(site=site, reason="Absent de l'annuaire")
        again = practice_site_suspend_as_leaver(site=site, reason="Absent de l'annuaire")
    assert (again.status, again.is_leaver) == ("suspended", True)
    site.refresh_from_db()
    assert (site.status, site.is_leaver, site.status_reason) == (
        "suspended",
        True,
        "Absent de l'annuaire",
    )
    assert _events(site) == [Kind.SITE_SUSPENDED]
    assert not is_in_care_team(user=care_team_practitioner, establishment=hospital)
    [message] = mailoutbox
    assert message.to == [referent.email]
    assert "Charlie Radiologue" in message.body


def test_an_ended_site_is_not_suspended(care_team_practitioner, referent) -> None:
    site = active_site(care_team_practitioner)
    practice_site_end(site=site, by=referent, reason="Départ")
    practice_site_suspend_as_leaver(site=site, reason="Absent")
    site.refresh_from_db()
    assert (site.status, site.is_leaver) == ("ended", False)


def test_the_referent_reinstates_a_leaver(
    care_team_practitioner, referent, hospital, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    site = active_site(care_team_practitioner)
    practice_site_suspend_as_leaver(site=site, reason="Absent")
    with django_capture_on_commit_callbacks(execute=True):
        practice_site_reinstate(site=site, by=referent, reason="Changement de nom d'usage")
    site.refresh_from_db()
    assert (site.status, site.is_leaver) == ("active", False)
    assert is_in_care_team(user=care_team_practitioner, establishment=hospital)
    assert _events(site) == [Kind.SITE_SUSPENDED, Kind.SITE_REINSTATED]
    assert mailoutbox[-1].to == [care_team_practitioner.email]


def test_the_referent_ends_a_site(care_team_practitioner, referent) -> None:
    site = active_site(care_team_practitioner)
    practice_site_end(site=site, by=referent, reason="A quitté l'établissement")
    practice_site_end(site=site, by=referent, reason="Encore")
    site.refresh_from_db()
    assert site.status == "ended"
    assert _events(site) == [Kind.SITE_ENDED]
    with pytest.raises(ValidationError):
        practice_site_reinstate(site=site, by=referent, reason="Retour")


def test_the_referent_decides_from_the_practitioners_page(
    client_for, referent, care_team_practitioner
) -> None:
    site = active_site(care_team_practitioner)
    practice_site_suspend_as_leaver(site=site, reason="Absent de l'annuaire")
    client = client_for(referent)
    base = f"/professionnels/{care_team_practitioner.practitioner.pk}/"
    page = client.get(base).content.decode()
    assert "absent de l'annuaire téléphonique" in page
    assert "Rétablir ce lieu" in page
    client.post(f"{base}lieux/{site.pk}/retablir/", {"reason": "Erreur d'annuaire"})
    site.refresh_from_db()
    assert site.status == "active"
    client.post(f"{base}lieux/{site.pk}/terminer/", {"reason": "Départ"})
    site.refresh_from_db()
    assert site.status == "ended"


def test_another_referent_cannot_decide_on_the_site(
    client_for, other_referent, referent, care_team_practitioner, other_hospital
) -> None:
    # The practitioner also practises at the other referent's establishment.
    PracticeSiteFactory(
        practitioner=care_team_practitioner.practitioner, establishment=other_hospital
    )
    site = PracticeSite.objects.get(
        practitioner=care_team_practitioner.practitioner, establishment__name="CHR Metz-Thionville"
    )
    practice_site_suspend_as_leaver(site=site, reason="Absent")
    client = client_for(other_referent)
    base = f"/professionnels/{care_team_practitioner.practitioner.pk}/"
    assert client.get(base).status_code == 200
    assert client.post(f"{base}lieux/{site.pk}/retablir/", {"reason": "x"}).status_code == 403
    site.refresh_from_db()
    assert site.status == "suspended"


def test_an_accredited_practitioner_without_site_is_in_no_care_team(hospital) -> None:
    accreditation = AccreditationFactory()
    assert not care_team_at(establishment=hospital).filter(pk=accreditation.practitioner_id)
