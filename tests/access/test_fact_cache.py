"""The callback's memory of facts (``access.fact_cache``): a viewer's burst of requests on one
study reads the token and the facts once, every request is still decided and traced, and any
change to what the decision is made of is heard at once through PostgreSQL's notifications.

Committed data (``transaction=True``): a notification is sent at commit only.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from access import fact_cache
from access.fact_cache import facts_kept
from access.models import AccessGrant
from access.services import grant_revoke, opposition_record
from access.tokens import viewer_token_mint, viewer_token_revoke
from audit.models import AccessEvent, Channel, Rule
from practitioners.models import Accreditation, PracticeSite
from practitioners.services.accreditations import accreditation_suspend
from tests.access.conftest import MachineClientHandler, Record, break_glass, grant_to
from tests.access.test_orthanc_auth import (  # noqa: F401 - a fixture
    VALIDATE,
    _post,
    _study_body,
    hospital_archive,
)

# Every test asks the hospital's archive about its study.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("hospital_archive")]

VALIDITY_S = 10
KEPT_S = 5


@pytest.fixture(autouse=True)
def keeping(settings: Any) -> Iterator[None]:
    settings.ACCESS_DECISION_VALIDITY_S = VALIDITY_S
    settings.ACCESS_FACTS_CACHE_S = KEPT_S
    assert facts_kept.wait_listening(10)
    yield
    facts_kept.stop()


@pytest.fixture
def client() -> Client:
    client = Client()
    client.handler = MachineClientHandler(enforce_csrf_checks=False)
    return client


def _validate(client: Client, record: Record, token: str) -> dict[str, Any]:
    response = _post(client, VALIDATE, _study_body(record.hospital_study, token))
    assert response.status_code == 200, response.content
    return dict(response.json())


def _traces() -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(channel=Channel.ARCHIVE).order_by("id"))


def _heard(change: Callable[[], Any]) -> Any:
    """Make ``change`` (committed), wait until this process's listener heard of it, and
    return what ``change`` returned."""
    before = facts_kept.generation()
    made = change()
    deadline = time.monotonic() + 10
    while facts_kept.generation() == before:
        assert time.monotonic() < deadline, "no notification heard"
        time.sleep(0.01)
    return made


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    moment = timezone.now() + datetime.timedelta(seconds=seconds)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_the_next_validation_of_the_study_reads_nothing_and_is_traced_alike(
    client, gp, radiologist, record, django_assert_num_queries
) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token
    assert _validate(client, record, token)["granted"]

    with django_assert_num_queries(1):  # the trace alone
        assert _validate(client, record, token)["granted"]

    first, second = _traces()
    fields = ("actor_id", "patient_id", "study_id", "granted", "rule", "grant_id", "channel")
    assert [getattr(second, name) for name in fields] == [getattr(first, name) for name in fields]
    assert (second.rule, second.grant_id) == (Rule.GRANT, grant.pk)


def test_an_answer_from_kept_facts_is_shortened_by_their_age(
    client, gp, radiologist, record, monkeypatch
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token
    assert _validate(client, record, token) == {"granted": True, "validity": VALIDITY_S}

    _later(monkeypatch, 3.5)

    assert _validate(client, record, token) == {"granted": True, "validity": VALIDITY_S - 4}


def test_facts_are_read_again_once_their_lifetime_is_over(
    client, gp, radiologist, record, monkeypatch, django_assert_num_queries
) -> None:
    grant_to(gp, record.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token
    _validate(client, record, token)

    _later(monkeypatch, KEPT_S + 0.5)

    with django_assert_num_queries(2):  # the token and facts, then the trace
        assert _validate(client, record, token) == {"granted": True, "validity": VALIDITY_S}


def test_a_grant_that_ends_while_its_facts_are_kept_grants_no_more(
    client, gp, radiologist, record, monkeypatch
) -> None:
    now = timezone.now()
    grant_to(gp, record.patient, by=radiologist, valid_until=now + datetime.timedelta(seconds=2))
    token = viewer_token_mint(user=gp).token
    assert _validate(client, record, token)["granted"]

    _later(monkeypatch, 3)

    assert not _validate(client, record, token)["granted"]
    assert [(e.granted, e.rule) for e in _traces()] == [(True, Rule.GRANT), (False, Rule.NO_RIGHT)]


def _revoke_token(context: dict[str, Any]) -> None:
    viewer_token_revoke(token=context["token"].record)


def _revoke_grant(context: dict[str, Any]) -> None:
    grant_revoke(by=context["radiologist"], grant=context["grant"], reason="Fin du suivi.")


def _oppose(context: dict[str, Any]) -> None:
    opposition_record(by=context["patient"], patient=context["record"].patient)


def _suspend(context: dict[str, Any]) -> None:
    accreditation_suspend(
        accreditation=Accreditation.objects.get(practitioner__user=context["gp"]),
        by=context["radiologist"],
        reason="Contrôle en cours.",
    )


def _deactivate(context: dict[str, Any]) -> None:
    context["gp"].is_active = False
    context["gp"].save(update_fields=["is_active"])


@pytest.mark.parametrize(
    "change",
    [_revoke_token, _revoke_grant, _oppose, _suspend, _deactivate],
    ids=["token revoked", "grant revoked", "opposition", "accreditation suspended", "deactivated"],
)
def test_a_change_refuses_the_next_validation_of_kept_facts(
    client, gp, radiologist, patient, record, change
) -> None:
    grant = grant_to(gp, record.patient, by=radiologist)
    minted = viewer_token_mint(user=gp)
    assert _validate(client, record, minted.token)["granted"]
    assert len(facts_kept) == 1
    context = {
        "gp": gp,
        "radiologist": radiologist,
        "patient": patient,
        "record": record,
        "grant": grant,
        "token": minted,
    }

    _heard(lambda: change(context))

    assert not _validate(client, record, minted.token)["granted"]


def test_leaving_the_care_team_refuses_the_next_validation(client, radiologist, record) -> None:
    token = viewer_token_mint(user=radiologist).token
    assert _validate(client, record, token)["granted"]

    _heard(lambda: PracticeSite.objects.update(status=PracticeSite.Status.ENDED))

    assert not _validate(client, record, token)["granted"]


def test_breaking_the_glass_grants_the_next_validation_of_a_kept_refusal(
    client, gp, record
) -> None:
    token = viewer_token_mint(user=gp).token
    assert not _validate(client, record, token)["granted"]

    opened = _heard(lambda: break_glass(gp, record.patient))

    assert _validate(client, record, token)["granted"]
    assert _traces()[-1].break_glass_id == opened.pk


def test_a_token_last_use_and_a_sign_in_notify_nothing(gp, radiologist, record) -> None:
    import psycopg
    from django.db import connection

    params = fact_cache._listener_params(connection.get_connection_params())
    grant_to(gp, record.patient, by=radiologist)
    minted = viewer_token_mint(user=gp)
    with psycopg.connect(**params, autocommit=True) as listener:
        listener.execute(f"LISTEN {fact_cache.CHANNEL}")
        minted.record.last_used_at = timezone.now()
        minted.record.save(update_fields=["last_used_at"])
        gp.last_login = timezone.now()
        gp.save(update_fields=["last_login"])
        AccessGrant.objects.update(reason=AccessGrant.Reason.REFERRAL)  # a watched table

        # Delivered in the order of the commits: the grants' write comes last.
        heard = [n.payload for n in listener.notifies(timeout=10, stop_after=1)]
    assert heard == [AccessGrant._meta.db_table]


def test_nothing_is_kept_while_no_listener_listens(
    client, gp, radiologist, record, monkeypatch, django_assert_num_queries
) -> None:
    facts_kept.stop()
    # A database the listener cannot reach: the portal's own requests still work.
    monkeypatch.setattr(fact_cache, "_listener_params", lambda params: {**params, "port": 1})
    grant_to(gp, record.patient, by=radiologist)
    token = viewer_token_mint(user=gp).token
    assert _validate(client, record, token)["granted"]  # the archive and the study, once

    for _ in range(2):
        with django_assert_num_queries(2):
            assert _validate(client, record, token)["granted"]
    assert len(facts_kept) == 0
