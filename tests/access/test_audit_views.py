"""The auditors' screens: the review queue of emergency accesses, the review itself, the access
trail with its filters (the patient never in a URL) and its CSV export, with the denied twins of
every page."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from access import trail
from access.audit_home import auditor_panel_context
from access.decision import decide
from access.models import BreakGlassAccess
from access.services import break_glass_review
from audit.models import AccessEvent, Action, ActorRole, Channel, Rule
from audit.partitions import ensure_partitions
from audit.services import EventValues, access_events_record
from imaging.models import Patient
from portal.home import register_home_panel
from portal.roles import Role
from portal.services import user_grant_group_role
from tests.access.conftest import Record, break_glass, grant_to
from tests.audit.conftest import event
from tests.factories import AccreditationFactory, PractitionerFactory, UserFactory, enrol_totp
from tests.imaging.factories import (
    ImagingStudyFactory,
    PatientIdentifierFactory,
    PatientRecordFactory,
)

pytestmark = pytest.mark.django_db

QUEUE = reverse("access:break-glass-queue")
TRAIL = reverse("access:audit-events")
CSV_EXPORT = reverse("access:audit-events-csv")
DENIED = ["practitioner", "regional_admin", "referent", "patient"]


def _review_url(access: BreakGlassAccess) -> str:
    return reverse("access:break-glass-review", args=[access.pk])


def _ins(body: str) -> str:
    """A valid INS: the 13-digit body and its key (97 - body mod 97)."""
    return f"{body}{97 - int(body) % 97:02d}"


HELENE_INS = _ins("2620457123456")


def _event(**fields: object) -> AccessEvent:
    """One event of the trail; what ``fields`` does not name points nowhere."""
    nowhere = {
        "actor_id": None,
        "actor_label": "",
        "patient_id": None,
        "study_id": None,
        "study_instance_uid": "",
        "establishment_id": None,
        "source_ip": None,
    }
    return access_events_record(events=[event(**{**nowhere, **fields})])[0]


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|action)="([^"]*)"', html)


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=";"))


@pytest.fixture
def auditor_home_panel() -> None:
    """The registration ``access`` makes at start-up (see the report): the auditor's panel
    with its pending count."""
    register_home_panel(
        "audit.auditor",
        role=Role.AUDITOR,
        template="audit/home/auditor.html",
        order=20,
        context=auditor_panel_context,
    )


@pytest.fixture
def second_auditor(db: None):
    user = UserFactory(email="ines.audit@gcs.test", first_name="Inès", last_name="Contrôle")
    enrol_totp(user)
    user_grant_group_role(user=user, role=Role.AUDITOR)
    return user


@pytest.fixture
def auditing_practitioner(db: None):
    """An auditor who is also an accredited practitioner (a DPO who still practises)."""
    user = UserFactory(email="dr.eve@gcs.test", first_name="Ève", last_name="Double")
    enrol_totp(user)
    user_grant_group_role(user=user, role=Role.AUDITOR)
    AccreditationFactory(practitioner=PractitionerFactory(user=user))
    return user


@pytest.fixture
def emergency(gp, record: Record) -> BreakGlassAccess:
    """The GP's emergency access to the cast patient, and a study seen under it."""
    access = break_glass(gp, record.patient)
    access.source_ip = "192.0.2.44"
    access.save(update_fields=["source_ip"])
    decide(
        user=gp,
        patient=record.patient,
        study=record.clinic_study,
        action=Action.READ,
        channel=Channel.WEB,
    )
    return access


# --- The review queue ------------------------------------------------------------------------


def test_it_lists_pending_emergency_accesses_for_the_auditor(
    client_for, auditor, gp, emergency
) -> None:
    page = _page(client_for(auditor).get(QUEUE))
    practitioner = gp.practitioner
    assert f"{practitioner.first_name} {practitioner.last_name}" in page
    assert practitioner.rpps in page
    assert "Urgence vitale" in page
    assert "Patient inconscient aux urgences" in page
    assert _review_url(emergency) in page
    assert "À examiner (1)" in page


def test_it_filters_the_queue_by_review_state(client_for, auditor, gp, record) -> None:
    pending = break_glass(gp, record.patient)
    other = PatientRecordFactory()
    reviewed = break_glass(gp, other)
    reviewed.justification = "Polytraumatisé transféré de nuit, dossier antérieur requis."
    reviewed.save(update_fields=["justification"])
    break_glass_review(by=auditor, access=reviewed, justified=True, comment="Conforme.")
    client = client_for(auditor)

    default = _page(client.get(QUEUE))
    assert _review_url(pending) in default
    assert _review_url(reviewed) not in default

    justified = _page(client.get(QUEUE, {"etat": "justified"}))
    assert _review_url(reviewed) in justified
    assert _review_url(pending) not in justified
    assert "Olivier Audit" in justified

    assert "Aucun accès" in _page(client.get(QUEUE, {"etat": "unjustified"}))

    everything = _page(client.get(QUEUE, {"etat": "all"}))
    assert _review_url(pending) in everything
    assert _review_url(reviewed) in everything


def test_the_queue_costs_the_same_queries_for_many_accesses(
    client_for, auditor, gp, django_assert_max_num_queries
) -> None:
    client = client_for(auditor)
    client.get(QUEUE)  # the session and its first save
    for _ in range(2):
        break_glass(gp, PatientRecordFactory())
    with django_assert_max_num_queries(12) as few:
        client.get(QUEUE)
    for _ in range(20):
        break_glass(gp, PatientRecordFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = _page(client.get(QUEUE))
    assert len(re.findall(r'href="/audit/acces-urgence/\d+/"', page)) == 22


@pytest.mark.parametrize("who", DENIED)
def test_the_queue_is_refused_to_other_roles(request, client_for, who, emergency) -> None:
    response = client_for(request.getfixturevalue(who)).get(QUEUE)
    assert response.status_code == 403


def test_the_queue_sends_an_anonymous_visitor_to_sign_in(client, emergency) -> None:
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# --- The review ------------------------------------------------------------------------------


def test_it_shows_the_access_and_what_was_seen_under_it(
    client_for, auditor, emergency, record
) -> None:
    page = _page(client_for(auditor).get(_review_url(emergency)))
    assert "Hélène DURAND" in page
    assert "17/04/1962" in page
    assert "Patient inconscient aux urgences, bilan de traumatisme crânien." in page
    assert "192.0.2.44" in page
    assert "Urgence vitale" in page
    events = page.split('id="events-title"')[1].split("</section>")[0]
    assert "Consultation" in events
    assert "09/06/2026 · MR" in events  # the clinic study, seen under the access
    assert "Portail web" in events
    assert 'name="verdict"' in page


def test_it_records_the_auditors_verdict(client_for, auditor, emergency) -> None:
    client = client_for(auditor)
    response = client.post(
        _review_url(emergency),
        {"verdict": "unjustified", "comment": "Aucune urgence au dossier ce jour-là."},
    )
    assert response.status_code == 302
    assert response.url == _review_url(emergency)
    emergency.refresh_from_db()
    assert emergency.review == BreakGlassAccess.Review.UNJUSTIFIED
    assert emergency.reviewed_by == auditor
    page = _page(client.get(response.url))
    verdict = page.split('id="verdict"')[1].split("</dl>")[0]
    assert "Non justifié" in verdict
    assert "Olivier Audit" in verdict
    assert "Aucune urgence au dossier ce jour-là." in verdict
    assert 'name="verdict"' not in page
    assert "À examiner (0)" in _page(client.get(QUEUE))


def test_it_asks_for_a_verdict_and_a_comment(client_for, auditor, emergency) -> None:
    response = client_for(auditor).post(_review_url(emergency), {"comment": "  "})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Expliquez votre décision en quelques mots." in page
    assert "Indiquez si l&#x27;accès était justifié ou non." in page
    emergency.refresh_from_db()
    assert emergency.review == BreakGlassAccess.Review.PENDING


def test_it_refuses_a_second_review(client_for, auditor, second_auditor, emergency) -> None:
    break_glass_review(by=auditor, access=emergency, justified=True, comment="Urgence avérée.")
    client = client_for(second_auditor)
    response = client.post(
        _review_url(emergency), {"verdict": "unjustified", "comment": "Je ne suis pas d'accord."}
    )
    assert response.status_code == 302
    page = _page(client.get(response.url))
    assert "Cet accès d&#x27;urgence a déjà été examiné." in page
    emergency.refresh_from_db()
    assert emergency.review == BreakGlassAccess.Review.JUSTIFIED
    assert emergency.reviewed_by == auditor
    assert emergency.review_comment == "Urgence avérée."


def test_it_refuses_an_auditor_reviewing_their_own_emergency_access(
    client_for, auditing_practitioner, second_auditor, record
) -> None:
    own = break_glass(auditing_practitioner, record.patient)
    client = client_for(auditing_practitioner)
    page = _page(client.get(_review_url(own)))
    assert "Vous ne pouvez pas examiner votre propre accès d'urgence" in page
    assert 'name="verdict"' not in page
    response = client.post(_review_url(own), {"verdict": "justified", "comment": "Moi."})
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.review == BreakGlassAccess.Review.PENDING
    # Its twin: another auditor may review it.
    assert 'name="verdict"' in _page(client_for(second_auditor).get(_review_url(own)))


@pytest.mark.parametrize("who", DENIED)
def test_the_review_is_refused_to_other_roles(request, client_for, who, emergency) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get(_review_url(emergency)).status_code == 403
    response = client.post(_review_url(emergency), {"verdict": "justified", "comment": "Oui."})
    assert response.status_code == 403
    emergency.refresh_from_db()
    assert emergency.review == BreakGlassAccess.Review.PENDING


def test_the_review_sends_an_anonymous_visitor_to_sign_in(client, emergency) -> None:
    for response in (
        client.get(_review_url(emergency)),
        client.post(_review_url(emergency), {"verdict": "justified", "comment": "Oui."}),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    emergency.refresh_from_db()
    assert emergency.review == BreakGlassAccess.Review.PENDING


def test_an_unknown_emergency_access_is_not_found(client_for, auditor) -> None:
    response = client_for(auditor).get(reverse("access:break-glass-review", args=[999999]))
    assert response.status_code == 404


# --- The trail: filters ----------------------------------------------------------------------


@pytest.fixture
def trail_cast(gp, radiologist, record: Record, hospital, clinic) -> dict[str, object]:
    """Four events told apart by their source address, and what the filters will ask for."""
    record.patient.ins = HELENE_INS
    record.patient.save(update_fields=["ins"])
    other = PatientRecordFactory(
        patient_name="MARTIN^Paul", patient_birth_date=datetime.date(1980, 5, 2)
    )
    now = timezone.now()

    def seen(actor, patient, study, ip: str, ago: datetime.timedelta, **fields) -> None:
        if study is not None:
            fields.update(
                study_id=study.pk,
                study_instance_uid=study.study_instance_uid,
                establishment_id=study.establishment_id,
            )
        _event(
            actor_id=actor.pk,
            actor_label=actor.email,
            patient_id=patient.pk,
            source_ip=ip,
            recorded_at=now - ago,
            **fields,
        )

    hour = datetime.timedelta(hours=1)
    seen(gp, record.patient, record.clinic_study, "10.0.0.1", hour, rule=Rule.GRANT)
    seen(
        radiologist,
        record.patient,
        record.hospital_study,
        "10.0.0.2",
        2 * hour,
        channel=Channel.ARCHIVE,
    )
    seen(
        gp,
        other,
        None,
        "10.0.0.3",
        3 * hour,
        establishment_id=hospital.pk,
        channel=Channel.API,
        granted=False,
        rule=Rule.NO_RIGHT,
    )
    seen(radiologist, other, None, "10.0.0.4", datetime.timedelta(days=10))
    return {"gp": gp, "hospital": hospital, "clinic": clinic, "other": other}


ALL_FOUR = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}


def _shown(html: str) -> set[str]:
    return set(re.findall(r"10\.0\.0\.\d", html))


def _filter(client, data: dict[str, object]):
    response = client.post(TRAIL, {"action": "filter", **data})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response.url == TRAIL
    return client.get(TRAIL)


def test_the_trail_shows_the_last_month_newest_first(client_for, auditor, trail_cast) -> None:
    page = _page(client_for(auditor).get(TRAIL))
    assert _shown(page) == ALL_FOUR
    assert page.index("10.0.0.1") < page.index("10.0.0.2") < page.index("10.0.0.4")
    assert "Hélène DURAND" in page
    assert "Paul MARTIN" in page
    assert "Institut de Cancérologie de Lorraine" in page
    assert "Autorisation d&#x27;accès" in page  # the rule, in French
    assert "Archive (visionneuse)" in page
    assert "Soins" in page
    assert "4 traces" in page


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"ins": HELENE_INS}, {"10.0.0.1", "10.0.0.2"}),
        ({"ins": HELENE_INS[:5] + " " + HELENE_INS[5:]}, {"10.0.0.1", "10.0.0.2"}),
        ({"last_name": "durand", "birth_date": "1962-04-17"}, {"10.0.0.1", "10.0.0.2"}),
        (
            {"last_name": "Durand", "first_name": "Helene", "birth_date": "1962-04-17"},
            {"10.0.0.1", "10.0.0.2"},
        ),
        ({"actor": "DR.DAN@cabinet.test"}, {"10.0.0.1", "10.0.0.3"}),
        ({"establishment": "hospital"}, {"10.0.0.2", "10.0.0.3"}),
        ({"finess": "clinic"}, {"10.0.0.1"}),
        ({"decision": "refused"}, {"10.0.0.3"}),
        ({"decision": "granted"}, {"10.0.0.1", "10.0.0.2", "10.0.0.4"}),
        ({"rule": Rule.GRANT}, {"10.0.0.1"}),
        ({"channel": Channel.ARCHIVE}, {"10.0.0.2"}),
        ({"channel": Channel.API, "decision": "refused"}, {"10.0.0.3"}),
    ],
    ids=[
        "ins",
        "ins-with-spaces",
        "name-and-birth-date",
        "full-name",
        "actor",
        "establishment",
        "finess",
        "refused",
        "granted",
        "rule",
        "channel",
        "combined",
    ],
)
def test_each_filter_narrows_the_trail(client_for, auditor, trail_cast, data, expected) -> None:
    for key in ("establishment", "finess"):
        if key in data:
            establishment = trail_cast[data[key]]
            data = {
                **data,
                key: establishment.pk if key == "establishment" else establishment.finess_eg,
            }  # type: ignore[attr-defined]
    page = _page(_filter(client_for(auditor), data))
    assert _shown(page) == expected


def test_the_period_filter_reads_whole_local_days(client_for, auditor, trail_cast) -> None:
    today = timezone.localdate()
    client = client_for(auditor)
    older = (today - datetime.timedelta(days=10)).isoformat()
    page = _page(_filter(client, {"date_from": older, "date_to": older}))
    assert _shown(page) == {"10.0.0.4"}
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    page = _page(_filter(client, {"date_from": yesterday}))
    assert _shown(page) <= {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    assert "10.0.0.4" not in page


def test_the_default_period_leaves_out_older_events(client_for, auditor, trail_cast) -> None:
    long_ago = timezone.now() - datetime.timedelta(days=45)
    ensure_partitions(first=long_ago.date(), last=long_ago.date())
    _event(source_ip="10.0.0.9", recorded_at=long_ago)
    client = client_for(auditor)
    assert "10.0.0.9" not in _page(client.get(TRAIL))
    page = _page(_filter(client, {"date_from": "", "date_to": ""}))
    assert "10.0.0.9" in page
    assert "toute la piste conservée" in page
    client.post(TRAIL, {"action": "reset"})
    assert "10.0.0.9" not in _page(client.get(TRAIL))


def test_the_filters_refuse_what_they_cannot_read(client_for, auditor, trail_cast) -> None:
    client = client_for(auditor)
    cases = [
        ({"ins": "123"}, "INS"),
        ({"last_name": "Durand"}, "indiquez son nom et sa date de naissance"),
        ({"ins": _ins("1010101010101")}, "Aucun patient ne correspond à cette recherche."),
        ({"finess": "123456789"}, "FINESS"),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "La fin de la période précède"),
        ({"actor": "pas-une-adresse"}, "adresse"),
    ]
    for data, message in cases:
        response = client.post(TRAIL, {"action": "filter", **data})
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert _shown(_page(client.get(TRAIL))) == ALL_FOUR  # nothing was applied


def test_the_patient_filter_never_reaches_a_url(client_for, auditor, trail_cast, record) -> None:
    for _ in range(60):  # enough for a second page
        _event(patient_id=record.patient.pk, source_ip="10.0.1.1")
    client = client_for(auditor)
    response = client.post(TRAIL, {"action": "filter", "ins": HELENE_INS})
    assert response.url == TRAIL
    page = _page(client.get(TRAIL))
    assert "Hélène DURAND" in page  # named on the page, for the auditor
    assert "?page=2" in page
    forbidden = [HELENE_INS, "durand", "hélène", "helene", "1962", str(record.patient.pk)]
    for address in _hrefs(page):
        for value in forbidden:
            assert value not in address.lower(), address
    page_two = _page(client.get(TRAIL, {"page": 2}))
    assert "10.0.0.3" not in page_two  # the filter holds across pages
    assert "10.0.0.1" in page_two or "10.0.0.2" in page_two
    for address in _hrefs(page_two):
        assert HELENE_INS not in address
        assert "durand" not in address.lower()

    by_name = client.post(
        TRAIL, {"action": "filter", "last_name": "Durand", "birth_date": "1962-04-17"}
    )
    assert by_name.url == TRAIL


def test_several_matching_patients_are_offered_to_choose_from(
    client_for, auditor, trail_cast, record, hospital
) -> None:
    namesake = PatientRecordFactory(
        patient_name="DURAND^Hélène^Marie", patient_birth_date=datetime.date(1962, 4, 17)
    )
    PatientIdentifierFactory(patient_record=namesake, establishment=hospital)
    _event(patient_id=namesake.pk, source_ip="10.0.0.7")
    client = client_for(auditor)
    response = client.post(
        TRAIL, {"action": "filter", "last_name": "DURAND", "birth_date": "1962-04-17"}
    )
    assert response.url == TRAIL
    page = _page(client.get(TRAIL))
    choice = page.split('id="choice-title"')[1].split("</section>")[0]
    assert "Hélène Marie DURAND" in choice
    assert HELENE_INS in choice
    assert "CHR Metz-Thionville" in choice
    assert _shown(page) == ALL_FOUR | {"10.0.0.7"}  # not narrowed until the auditor chooses

    client.post(TRAIL, {"action": "choose-patient", "patient": str(namesake.pk)})
    page = _page(client.get(TRAIL))
    assert 'id="choice-title"' not in page
    assert _shown(page) == {"10.0.0.7"}

    client.post(TRAIL, {"action": "filter", "last_name": "durand", "birth_date": "1962-04-17"})
    client.post(TRAIL, {"action": "choose-patient", "patient": "all"})
    assert _shown(_page(client.get(TRAIL))) == {"10.0.0.1", "10.0.0.2", "10.0.0.7"}

    client.post(TRAIL, {"action": "clear-patient"})
    assert _shown(_page(client.get(TRAIL))) == ALL_FOUR | {"10.0.0.7"}


def test_a_patient_outside_the_offered_choice_is_refused(
    client_for, auditor, trail_cast, record
) -> None:
    PatientRecordFactory(
        patient_name="DURAND^Hélène", patient_birth_date=datetime.date(1962, 4, 17)
    )
    client = client_for(auditor)
    client.post(TRAIL, {"action": "filter", "last_name": "durand", "birth_date": "1962-04-17"})
    other = trail_cast["other"]
    response = client.post(TRAIL, {"action": "choose-patient", "patient": str(other.pk)})  # type: ignore[attr-defined]
    assert response.status_code == 400
    assert "Choisissez" in response.content.decode()


def test_the_patient_filter_includes_records_merged_into_the_patient(
    client_for, auditor, trail_cast, record
) -> None:
    merged = PatientRecordFactory(merged_into=record.patient)
    _event(patient_id=merged.pk, source_ip="10.0.0.8")
    page = _page(_filter(client_for(auditor), {"ins": HELENE_INS}))
    assert _shown(page) == {"10.0.0.1", "10.0.0.2", "10.0.0.8"}


def test_the_trail_links_to_the_emergency_access_it_was_made_under(
    client_for, auditor, emergency
) -> None:
    page = _page(client_for(auditor).get(TRAIL))
    assert f'href="{_review_url(emergency)}"' in page
    assert "Accès d&#x27;urgence (bris de glace)" in page


def test_a_trail_page_costs_a_fixed_number_of_queries(
    client_for, auditor, django_assert_max_num_queries
) -> None:
    actors = [UserFactory() for _ in range(5)]

    def events(count: int) -> None:
        studies = [ImagingStudyFactory() for _ in range(count)]
        access_events_record(
            events=[
                EventValues(
                    actor_role=ActorRole.PRACTITIONER,
                    action=Action.READ,
                    channel=Channel.WEB,
                    granted=True,
                    rule=Rule.BREAK_GLASS,
                    purpose="care",
                    actor_id=actors[n % 5].pk,
                    actor_label=actors[n % 5].email,
                    patient_id=study.patient_id,
                    study_id=study.pk,
                    study_instance_uid=study.study_instance_uid,
                    establishment_id=study.establishment_id,
                    break_glass_id=n + 1,
                )
                for n, study in enumerate(studies)
            ]
        )

    client = client_for(auditor)
    client.get(TRAIL)
    events(3)
    with django_assert_max_num_queries(20) as few:
        _page(client.get(TRAIL))
    events(60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = _page(client.get(TRAIL))
    assert page.count("Voir l'accès d'urgence") == 50


@pytest.mark.parametrize("who", DENIED)
def test_the_trail_is_refused_to_other_roles(request, client_for, who, trail_cast) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get(TRAIL).status_code == 403
    assert client.post(TRAIL, {"action": "filter", "ins": HELENE_INS}).status_code == 403
    assert client.post(CSV_EXPORT).status_code == 403


def test_the_trail_sends_an_anonymous_visitor_to_sign_in(client, trail_cast) -> None:
    for response in (client.get(TRAIL), client.post(CSV_EXPORT)):
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))


# --- The CSV export --------------------------------------------------------------------------


def test_it_exports_the_filtered_trail_as_csv(client_for, auditor, trail_cast) -> None:
    client = client_for(auditor)
    _filter(client, {"actor": "dr.dan@cabinet.test"})
    response = client.post(CSV_EXPORT)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="traces-acces-{today}.csv"'
    header, *rows = _csv(response)
    assert header[0] == "Rang dans la chaîne"
    assert header[-2:] == ["Empreinte précédente", "Empreinte"]
    assert len(rows) == 2
    by_ip = {row[header.index("Adresse IP")]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_ip) == {"10.0.0.1", "10.0.0.3"}
    stored = AccessEvent.objects.get(source_ip="10.0.0.1")
    first = by_ip["10.0.0.1"]
    assert first["Rang dans la chaîne"] == str(stored.chain_seq)
    assert first["Empreinte"] == stored.hash
    assert first["Empreinte précédente"] == stored.prev_hash
    assert first["Patient"] == "Hélène DURAND"
    assert first["Établissement"] == "Institut de Cancérologie de Lorraine"
    assert first["FINESS de l'établissement"] == trail_cast["clinic"].finess_eg  # type: ignore[attr-defined]
    assert first["Règle"] == "Autorisation d'accès"
    assert first["Décision"] == "accordé"
    assert first["Date (UTC)"] == stored.recorded_at.astimezone(datetime.UTC).isoformat()
    assert by_ip["10.0.0.3"]["Décision"] == "refusé"


def test_the_csv_quotes_separators_and_defuses_formulas(client_for, auditor, record) -> None:
    record.patient.patient_name = '=HYPERLINK("http://x");DURAND^Hélène'
    record.patient.save(update_fields=["patient_name"])
    _event(
        actor_label='dupont; "le grand"@exemple.test',
        patient_id=record.patient.pk,
        purpose="-2+3",
        source_ip="10.0.0.5",
    )
    response = client_for(auditor).post(CSV_EXPORT)
    header, row = _csv(response)
    values = dict(zip(header, row, strict=True))
    assert values["Utilisateur"] == 'dupont; "le grand"@exemple.test'
    assert values["Finalité"] == "'-2+3"
    assert values["Patient"] == '\'=HYPERLINK("http://x");DURAND^Hélène'


def test_it_refuses_an_export_too_large(client_for, auditor, trail_cast, monkeypatch) -> None:
    monkeypatch.setattr(trail, "EXPORT_MAX_ROWS", 3)
    client = client_for(auditor)
    response = client.post(CSV_EXPORT)
    assert response.status_code == 302
    assert response.url == TRAIL
    page = _page(client.get(TRAIL))
    assert "réduisez la période" in page
    # Viewing the trail traced the auditor's own reads (granted): the refusals stay few.
    _filter(client, {"decision": "refused"})
    assert client.post(CSV_EXPORT).status_code == 200  # within the limit


def test_a_finess_filter_stays_when_other_filters_change(client_for, auditor, trail_cast) -> None:
    client = client_for(auditor)
    hospital = trail_cast["hospital"]
    page = _page(_filter(client, {"finess": hospital.finess_eg}))  # type: ignore[attr-defined]
    assert _shown(page) == {"10.0.0.2", "10.0.0.3"}
    assert f'value="{hospital.finess_eg}"' in page  # type: ignore[attr-defined]
    page = _page(_filter(client, {"finess": hospital.finess_eg, "decision": "refused"}))  # type: ignore[attr-defined]
    assert _shown(page) == {"10.0.0.3"}


def test_choosing_a_patient_needs_a_search_first(client_for, auditor, trail_cast) -> None:
    response = client_for(auditor).post(TRAIL, {"action": "choose-patient", "patient": "all"})
    assert response.status_code == 400
    assert "cherchez le patient" in response.content.decode()


def test_the_export_is_not_a_link(client_for, auditor) -> None:
    assert client_for(auditor).get(CSV_EXPORT).status_code == 405


# --- The auditor's home panel ----------------------------------------------------------------


def test_the_auditors_home_counts_pending_emergency_accesses(
    client_for, auditor, emergency, auditor_home_panel
) -> None:
    page = _page(client_for(auditor).get(reverse("home")))
    assert re.search(r'id="break-glass-pending">1<', page)
    assert f'href="{QUEUE}"' in page
    assert f'href="{TRAIL}"' in page


def test_other_roles_home_has_no_auditor_panel(
    client_for, practitioner, emergency, auditor_home_panel
) -> None:
    page = _page(client_for(practitioner).get(reverse("home")))
    assert "break-glass-pending" not in page
    assert f'href="{TRAIL}"' not in page


def test_the_decisions_of_the_cast_appear_in_the_trail(client_for, auditor, gp, record) -> None:
    grant_to(gp, record.patient, by=record.patient.user)
    decide(user=gp, patient=record.patient, action=Action.READ, channel=Channel.WEB)
    decide(user=AnonymousUser(), patient=record.patient, action=Action.READ, channel=Channel.API)
    page = _page(client_for(auditor).get(TRAIL))
    assert gp.email in page
    assert "Utilisateur non connecté" in page
    assert "Anonyme" in page
    assert Patient.objects.filter(pk=record.patient.pk).exists()


def test_what_the_auditor_sees_of_patients_is_itself_traced(
    client_for, auditor, gp, record
) -> None:
    access = break_glass(gp, record.patient)
    _event(patient_id=record.patient.pk, source_ip="10.0.0.9")
    client = client_for(auditor)

    client.get(reverse("access:break-glass-review", args=[access.pk]))
    client.get(TRAIL)
    client.post(CSV_EXPORT)

    reads = AccessEvent.objects.filter(rule=Rule.AUDIT, actor_id=auditor.pk)
    assert set(reads.values_list("action", "channel")) == {
        (Action.READ, Channel.WEB),
        (Action.LIST, Channel.WEB),
        (Action.EXPORT, Channel.EXPORT),
    }
    assert set(reads.values_list("patient_id", flat=True)) == {record.patient.pk}
    assert set(reads.values_list("purpose", "actor_role")) == {("audit", ActorRole.AUDITOR)}
