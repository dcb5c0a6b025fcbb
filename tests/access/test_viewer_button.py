"""The "Ouvrir dans la visionneuse" button of the practitioner's patient timeline: a POST form
beside each granted study whose archive has a viewer, which mints a viewer token for that study
(after ``access.decide``) and sends the browser on to the archive's viewer with it."""

from __future__ import annotations

import html as html_lib
import logging
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from access.token_models import ViewerToken
from access.tokens import TokenState, viewer_token_find
from audit.models import AccessEvent, Action, Channel, Rule
from imaging.models import ArchiveSource, ImagingStudy, Patient
from tests.access.conftest import Record, grant_to, oppose
from tests.imaging.factories import ArchiveSourceFactory

pytestmark = pytest.mark.django_db

VIEWER_URL = (
    "https://pacs.chr.test/ohif/viewer?StudyInstanceUIDs={study_instance_uid}&token={token}"
)
LABEL = "Ouvrir dans la visionneuse"


def _open(study: ImagingStudy) -> str:
    return reverse("access:study-viewer", args=[study.pk])


def _detail(patient: Patient) -> str:
    return reverse("access:patient-detail", args=[patient.pk])


def _attach(study: ImagingStudy, source: ArchiveSource) -> None:
    ImagingStudy.objects.filter(pk=study.pk).update(source=source)
    study.refresh_from_db()


@pytest.fixture
def hospital_archive(record: Record, hospital: Any) -> ArchiveSource:
    """The hospital's archive, with a viewer; it holds the hospital study."""
    source = ArchiveSourceFactory(establishment=hospital, viewer_url=VIEWER_URL)
    _attach(record.hospital_study, source)
    return source


@pytest.fixture
def clinic_archive(record: Record, clinic: Any) -> ArchiveSource:
    """The clinic's archive, without a viewer; it holds the clinic study."""
    source = ArchiveSourceFactory(establishment=clinic, viewer_url="")
    _attach(record.clinic_study, source)
    return source


@dataclass
class Form:
    attrs: dict[str, str]
    inputs: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[dict[str, str], str]] = field(default_factory=list)


class _Forms(HTMLParser):
    """The page's forms: their attributes, hidden inputs and buttons (with their text)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._button: tuple[dict[str, str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(attrs=values)
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None:
            self._form.inputs[values.get("name", "")] = values.get("value", "")
        elif tag == "button" and self._form is not None:
            self._button = (values, [])

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self._form is not None:
            self._form.buttons.append((self._button[0], " ".join("".join(self._button[1]).split())))
            self._button = None
        elif tag == "form":
            self._form = None


def _viewer_forms(response: Any) -> dict[str, Form]:
    """The page's viewer forms, by their action."""
    parser = _Forms()
    parser.feed(response.content.decode())
    return {
        form.attrs["action"]: form
        for form in parser.forms
        if form.attrs.get("action", "").endswith("/visionneuse/")
    }


def _token_in(location: str) -> str:
    [token] = parse_qs(urlsplit(location).query)["token"]
    return token


# --- Opening a study ---------------------------------------------------------------------------


def test_it_sends_the_granted_gp_to_the_viewer_with_a_token_the_archive_accepts(
    gp, radiologist, record, hospital_archive, caplog
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    study = record.hospital_study
    # Like a browser: the page's own form, with its CSRF token, checks enforced.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(gp)
    [form] = _viewer_forms(browser.get(_detail(record.patient))).values()
    caplog.set_level(logging.DEBUG)
    traced_before = set(AccessEvent.objects.values_list("pk", flat=True))

    response = browser.post(form.attrs["action"], data=form.inputs)

    assert response.status_code == 303
    location = response["Location"]
    uid = study.study_instance_uid
    token = _token_in(location)
    assert location == f"https://pacs.chr.test/ohif/viewer?StudyInstanceUIDs={uid}&token={token}"
    found, state = viewer_token_find(raw=token)
    assert state == TokenState.VALID
    assert found is not None
    assert (found.user_id, found.study_id) == (gp.pk, study.pk)
    # The answer carrying the token is kept by no cache, and no log line holds it.
    assert "no-store" in response["Cache-Control"]
    assert token not in caplog.text
    [event] = AccessEvent.objects.exclude(pk__in=traced_before)
    assert (event.actor_id, event.study_id, event.channel) == (gp.pk, study.pk, Channel.WEB)
    assert (event.granted, event.rule, event.action) == (True, Rule.GRANT, Action.READ)
    assert event.patient_id == record.patient.pk


def test_the_portal_address_names_the_study_by_its_internal_id_only(
    gp, radiologist, record, hospital_archive
) -> None:
    address = _open(record.hospital_study)

    assert address == f"/examens/{record.hospital_study.pk}/visionneuse/"
    assert record.hospital_study.study_instance_uid not in address
    assert "durand" not in address.lower()


def test_the_care_team_opens_its_establishments_study(
    client_for, radiologist, record, hospital_archive
) -> None:
    response = client_for(radiologist).post(_open(record.hospital_study))

    assert response.status_code == 303
    found, state = viewer_token_find(raw=_token_in(response["Location"]))
    assert state == TokenState.VALID
    assert found is not None
    assert (found.user_id, found.study_id) == (radiologist.pk, record.hospital_study.pk)


@pytest.mark.parametrize("situation", ["no_right", "opposition"])
def test_it_answers_404_and_mints_nothing_for_a_refused_practitioner(
    client_for, gp, radiologist, record, hospital_archive, situation
) -> None:
    if situation == "opposition":
        grant_to(gp, record.patient, by=radiologist)
        oppose(record.patient, by=radiologist)

    response = client_for(gp).post(_open(record.hospital_study))

    assert response.status_code == 404
    assert "Location" not in response
    assert not ViewerToken.objects.exists()
    [event] = AccessEvent.objects.filter(actor_id=gp.pk, channel=Channel.WEB)
    assert (event.granted, event.rule, event.study_id) == (
        False,
        Rule(situation),
        record.hospital_study.pk,
    )


def test_it_answers_404_for_an_unknown_or_deleted_study(
    client_for, radiologist, record, hospital_archive
) -> None:
    client = client_for(radiologist)
    unknown = client.post(reverse("access:study-viewer", args=[record.hospital_study.pk + 999]))
    ImagingStudy.objects.filter(pk=record.hospital_study.pk).update(deleted_at="2026-07-01T00:00Z")
    deleted = client.post(_open(record.hospital_study))

    assert unknown.status_code == deleted.status_code == 404
    assert not ViewerToken.objects.exists()


def test_it_does_not_allow_get(client_for, gp, radiologist, record, hospital_archive) -> None:
    grant_to(gp, record.patient, by=radiologist)

    response = client_for(gp).get(_open(record.hospital_study))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert not ViewerToken.objects.exists()


def test_it_sends_non_practitioners_away(client_for, patient, record, hospital_archive) -> None:
    response = client_for(patient).post(_open(record.hospital_study))

    assert response.status_code == 403
    assert not ViewerToken.objects.exists()


@pytest.mark.parametrize("archive", ["without_viewer", "without_archive"])
def test_it_says_so_when_the_studys_archive_has_no_viewer(
    client_for, gp, radiologist, record, clinic_archive, archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    if archive == "without_archive":
        ImagingStudy.objects.filter(pk=record.clinic_study.pk).update(source=None)

    response = client_for(gp).post(_open(record.clinic_study))

    assert response.status_code == 409
    html = html_lib.unescape(response.content.decode())
    assert "Visionneuse non disponible" in html
    assert "n'a pas de visionneuse configurée" in html
    assert f'href="{_detail(record.patient)}"' in html
    assert not ViewerToken.objects.exists()


# --- The button on the timeline ----------------------------------------------------------------


def test_the_button_appears_only_beside_studies_with_a_viewer(
    client_for, gp, radiologist, record, hospital_archive, clinic_archive
) -> None:
    grant_to(gp, record.patient, by=radiologist)

    response = client_for(gp).get(_detail(record.patient))

    forms = _viewer_forms(response)
    assert list(forms) == [_open(record.hospital_study)]
    form = forms[_open(record.hospital_study)]
    assert form.attrs["method"] == "post"
    assert form.attrs["target"] == "_blank"
    assert "noopener" in form.attrs["rel"].split()
    assert form.inputs["csrfmiddlewaretoken"]
    [(button, text)] = form.buttons
    assert button["type"] == "submit"
    assert text == f"{LABEL} (nouvel onglet)"
    # The button says which study it opens to assistive technologies.
    date_id, title_id = button["aria-describedby"].split()
    html = response.content.decode()
    assert f'id="{date_id}"' in html
    assert f'id="{title_id}"' in html
    assert "pas de visionneuse" in html  # the clinic study, whose archive has none


def test_the_button_is_not_offered_for_a_study_the_decision_hides(
    client_for, radiologist, record, hospital_archive, clinic
) -> None:
    # Both archives have a viewer; the hospital's radiologist sees only the hospital's study.
    _attach(record.clinic_study, ArchiveSourceFactory(establishment=clinic, viewer_url=VIEWER_URL))

    forms = _viewer_forms(client_for(radiologist).get(_detail(record.patient)))

    assert list(forms) == [_open(record.hospital_study)]


def test_a_refused_practitioner_sees_no_button(client_for, gp, record, hospital_archive) -> None:
    response = client_for(gp).get(_detail(record.patient))

    assert response.status_code == 403
    assert not _viewer_forms(response)
    assert LABEL not in response.content.decode()


def test_the_button_speaks_english(client_for, gp, radiologist, record, hospital_archive) -> None:
    grant_to(gp, record.patient, by=radiologist)
    client = client_for(gp)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    [form] = _viewer_forms(client.get(_detail(record.patient))).values()

    assert form.buttons[0][1] == "Open in the viewer (new tab)"
