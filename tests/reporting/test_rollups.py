"""Daily rollups against a hand-counted day: two establishments, a GP with a grant, the care
team, the patient, an emergency access, a purchase order. Rebuilding changes nothing."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from access.decision import decide
from access.models import BreakGlassAccess, Opposition
from audit.models import Action, Channel
from billing.models import PurchaseOrder
from reporting.models import DailyRollup, RollupState
from reporting.periods import period_parse
from reporting.rollups import rollup_day, rollups_rebuild, rollups_update
from reporting.selectors import establishment_figures, establishments_table, region_figures
from tests.access.conftest import Record, grant_to
from tests.billing.factories import make_active, make_price_list
from tests.factories import AccreditationFactory, EstablishmentFactory
from tests.imaging.factories import ImagingStudyFactory, PatientIdentifierFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 10)


def at(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


def read(user, record_patient, study, day=DAY, hour=10) -> None:
    decide(
        user=user,
        patient=record_patient,
        study=study,
        action=Action.READ,
        channel=Channel.WEB,
        at=at(day, hour),
    )


@pytest.fixture
def scene(record: Record, hospital, clinic, radiologist, gp, patient, director, regional_admin):
    """The hand-counted day (see each line's comment for what it adds)."""
    hospital.status = clinic.status = "member"
    hospital.save()
    clinic.save()
    person = record.patient
    at_hospital = person.identifiers.get(establishment=hospital)
    # Produced on DAY: two at the hospital (one of the granted patient), one at the clinic.
    mine_today = ImagingStudyFactory(patient_identifier=at_hospital, study_date=DAY)
    ImagingStudyFactory(establishment=hospital, study_date=DAY)
    stranger_identifier = PatientIdentifierFactory(establishment=clinic)
    stranger_study = ImagingStudyFactory(patient_identifier=stranger_identifier, study_date=DAY)
    grant = grant_to(
        gp,
        person,
        by=radiologist,
        valid_from=at(DAY - datetime.timedelta(days=5), 9),
        valid_until=at(DAY + datetime.timedelta(days=30), 9),
    )
    read(radiologist, person, record.hospital_study)  # care team: a practitioner
    read(gp, person, record.clinic_study)  # outside the clinic
    read(gp, person, mine_today, hour=11)  # outside the hospital
    read(patient, person, record.hospital_study, hour=20)  # the patient, on the portal
    read(patient, person, record.clinic_study, hour=20)
    # An emergency access, on the clinic's stranger.
    emergency_doctor = AccreditationFactory(
        valid_from=DAY - datetime.timedelta(days=40)
    ).practitioner
    from tests.factories import UserFactory

    emergency_doctor.user = UserFactory(email="dr.urgence@exemple.test")
    emergency_doctor.save()
    BreakGlassAccess.objects.create(
        user=emergency_doctor.user,
        practitioner=emergency_doctor,
        patient=stranger_study.patient,
        category=BreakGlassAccess.Category.LIFE_THREATENING,
        justification="Patient inconscient aux urgences, bilan de traumatisme crânien.",
        opened_at=at(DAY, 14),
        expires_at=at(DAY, 18),
    )
    read(emergency_doctor.user, stranger_study.patient, stranger_study, hour=15)
    # Refused: counted nowhere.
    outsider_doctor = AccreditationFactory(valid_from=DAY - datetime.timedelta(days=3))
    outsider_user = UserFactory(email="dr.refuse@exemple.test")
    outsider_doctor.practitioner.user = outsider_user
    outsider_doctor.practitioner.save()
    read(outsider_user, person, record.hospital_study, hour=16)
    # The hospital's sharing order, in force since before DAY.
    make_price_list()
    order = make_active(
        establishment=hospital,
        director=director,
        admin=regional_admin,
        offer_codes=("sharing",),
        start_date=DAY - datetime.timedelta(days=30),
    )
    assert order.status == PurchaseOrder.Status.ACTIVE
    return {"grant": grant, "record": record, "stranger": stranger_study}


def rows_of(day: datetime.date) -> dict[int | None, DailyRollup]:
    return {row.establishment_id: row for row in DailyRollup.objects.filter(day=day)}


def test_it_counts_the_day_by_establishment_and_for_the_region(
    scene, hospital, clinic, radiologist, gp, patient
) -> None:
    rollup_day(day=DAY)
    rows = rows_of(DAY)
    h, c, region = rows[hospital.pk], rows[clinic.pk], rows[None]
    assert (h.studies_produced, c.studies_produced, region.studies_produced) == (2, 1, 3)
    # End of day, granted patient: the hospital's study of March and today's; the clinic's of June.
    assert (h.studies_shared, c.studies_shared, region.studies_shared) == (2, 1, 3)
    # The GP at each establishment, the emergency at the clinic.
    assert (h.outside_accesses, c.outside_accesses, region.outside_accesses) == (1, 2, 3)
    radiologist_id, gp_id = radiologist.practitioner.pk, gp.practitioner.pk
    assert set(h.practitioner_ids) == {radiologist_id, gp_id}
    assert gp_id in c.practitioner_ids
    assert len(c.practitioner_ids) == 2
    assert len(region.practitioner_ids) == 3
    patient_id = scene["record"].patient.pk
    assert h.portal_patient_ids == [patient_id] == region.portal_patient_ids
    assert (h.break_glass_uses, c.break_glass_uses, region.break_glass_uses) == (0, 1, 1)
    assert h.members_by_offer == {"sharing": 1} == region.members_by_offer
    assert c.members_by_offer == {}


def test_accreditations_in_force_split_hospital_and_city(scene, hospital) -> None:
    rollup_day(day=DAY)
    rows = rows_of(DAY)
    region = rows[None]
    # The radiologist (a site at the hospital), the GP, the emergency doctor, the refused one.
    assert region.accreditations_active == 4
    assert region.accreditations_active_hospital == 1
    assert region.accreditations_active_city == 3
    assert rows[hospital.pk].accreditations_active == 1
    assert region.accreditations_new == 0
    rollup_day(day=DAY - datetime.timedelta(days=3))
    assert rows_of(DAY - datetime.timedelta(days=3))[None].accreditations_new == 1


def test_rebuilding_a_day_changes_nothing(scene) -> None:
    rollup_day(day=DAY)
    first = {
        key: (row.studies_produced, row.outside_accesses, row.practitioner_ids, row.pk)
        for key, row in rows_of(DAY).items()
    }
    rollup_day(day=DAY)
    again = rows_of(DAY)
    assert {k: v[:3] for k, v in first.items()} == {
        key: (row.studies_produced, row.outside_accesses, row.practitioner_ids)
        for key, row in again.items()
    }
    assert DailyRollup.objects.filter(day=DAY).count() == len(first)


def test_an_opposition_or_a_revocation_unshares_from_that_day(scene, referent) -> None:
    person = scene["record"].patient
    Opposition.objects.create(
        patient=person,
        source=Opposition.Source.REFERENT,
        recorded_by=referent,
        recorded_at=at(DAY + datetime.timedelta(days=1), 9),
    )
    grant = scene["grant"]
    grant.revoked_at = at(DAY + datetime.timedelta(days=3), 9)
    grant.save()
    rollups_rebuild(start=DAY, end=DAY + datetime.timedelta(days=3))
    shared = {row.day: row.studies_shared for row in DailyRollup.objects.filter(establishment=None)}
    assert shared[DAY] == 3
    assert shared[DAY + datetime.timedelta(days=1)] == 0


def test_a_period_sums_flows_keeps_the_last_stock_and_unions_sets(
    scene, hospital, radiologist, gp
) -> None:
    person = scene["record"].patient
    next_day = DAY + datetime.timedelta(days=1)
    read(gp, person, scene["record"].hospital_study, day=next_day)
    rollups_rebuild(start=DAY, end=next_day)
    period = period_parse(f"{DAY.isoformat()}..{next_day.isoformat()}")
    region = region_figures(period=period)
    assert region["studies_produced"] == 3
    assert region["outside_accesses"] == 4
    assert region["practitioners_accessing"] == 3  # the GP came twice, counted once
    hospital_figures = establishment_figures(establishment=hospital, period=period)
    assert hospital_figures["outside_accesses"] == 2
    assert hospital_figures["studies_shared"] == 2
    table = establishments_table(period=period)
    assert next(line.establishment for line in table) == hospital
    assert round(table[0].volume_share, 3) == round(2 / 3, 3)


def test_the_update_catches_up_then_redoes_the_recent_days(scene) -> None:
    today = DAY + datetime.timedelta(days=2)
    RollupState.objects.update_or_create(
        pk=1, defaults={"complete_until": DAY - datetime.timedelta(days=10)}
    )
    rollups_update(today=today, recent_days=3)
    days = set(DailyRollup.objects.filter(establishment=None).values_list("day", flat=True))
    assert min(days) == DAY - datetime.timedelta(days=9)
    assert max(days) == today
    assert RollupState.objects.get().complete_until == today - datetime.timedelta(days=1)
    # A study indexed late, made the day before: the next run's recent days include it.
    ImagingStudyFactory(study_date=today - datetime.timedelta(days=1))
    rollups_update(today=today, recent_days=3)
    assert (
        DailyRollup.objects.get(
            establishment=None, day=today - datetime.timedelta(days=1)
        ).studies_produced
        == 1
    )


def test_the_command_rebuilds_a_period_and_refuses_a_bad_one() -> None:
    EstablishmentFactory(status="member")
    call_command("rollups", "--rebuild", "2026-10", verbosity=0)
    assert DailyRollup.objects.filter(establishment=None).count() == 31
    with pytest.raises(CommandError, match="non reconnue"):
        call_command("rollups", "--rebuild", "octobre")
