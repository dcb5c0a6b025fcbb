"""Funder indicators against a hand-counted quarter of rollups (2026-Q3), manual values (the
latest entry wins, a justification is required), the share of the regional volume, and the
indicator pages (regional administrators only, each with its denied twin)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from establishments.models import Establishment
from portal.models import User
from reporting import services
from reporting.indicators import UnknownIndicators, indicator_values
from reporting.models import DailyRollup, Indicator, ManualValue
from reporting.periods import period_parse
from tests.factories import EstablishmentFactory

pytestmark = pytest.mark.django_db

Q3 = period_parse("2026-Q3")
C = Indicator.Computation


def rollup(day: str, establishment: Establishment | None = None, **fields: Any) -> DailyRollup:
    return DailyRollup.objects.create(
        day=datetime.date.fromisoformat(day), establishment=establishment, **fields
    )


@pytest.fixture
def network(db: None) -> dict[str, Establishment]:
    return {
        "nancy": EstablishmentFactory(name="CHRU de Nancy", city="Nancy"),
        "icl": EstablishmentFactory(
            name="Institut de Cancérologie de Lorraine", city="Vandœuvre-lès-Nancy"
        ),
        "metz": EstablishmentFactory(name="CHR Metz-Thionville", city="Metz"),
    }


@pytest.fixture
def quarter(network: dict[str, Establishment]) -> dict[str, Establishment]:
    """Three days of 2026-Q3 and one of the quarter before, counted by hand:

    - studies produced: 15 + 20 + 15 = 50 (previous period: 40);
    - outside accesses: 3 + 4 + 3 = 10 (previous: 5);
    - practitioners who accessed: {1, 2} ∪ {1, 3} ∪ {1, 4} = 4; portal patients: 3;
    - break-glass: 1; on the last day, 12 studies shared, 14 accredited (8 hospital, 6 city);
    - members on 30/09: Nancy (PACS, sharing), ICL (sharing), Metz (archive): 3, 2 sharing.
    """
    nancy, icl, metz = network["nancy"], network["icl"], network["metz"]
    rollup("2026-06-10", studies_produced=40, outside_accesses=5, members_by_offer={"pacs": 1})
    rollup("2026-06-10", nancy, studies_produced=40, members_by_offer={"pacs": 1})
    rollup(
        "2026-07-01",
        studies_produced=15,
        outside_accesses=3,
        practitioner_ids=[1, 2],
        portal_patient_ids=[100],
        studies_shared=7,
        accreditations_active=10,
        accreditations_active_hospital=6,
        accreditations_active_city=4,
        members_by_offer={"pacs": 1, "sharing": 2},
    )
    rollup(
        "2026-07-01",
        nancy,
        studies_produced=10,
        outside_accesses=2,
        practitioner_ids=[1, 2],
        portal_patient_ids=[100],
        studies_shared=5,
        accreditations_active=4,
        members_by_offer={"pacs": 1, "sharing": 1},
    )
    rollup(
        "2026-07-01",
        icl,
        studies_produced=5,
        outside_accesses=1,
        practitioner_ids=[2],
        studies_shared=2,
        accreditations_active=2,
        members_by_offer={"sharing": 1},
    )
    rollup(
        "2026-08-15",
        studies_produced=20,
        outside_accesses=4,
        practitioner_ids=[1, 3],
        portal_patient_ids=[100, 101],
        break_glass_uses=1,
        studies_shared=9,
        accreditations_active=12,
        members_by_offer={"pacs": 1, "sharing": 2},
    )
    rollup(
        "2026-08-15",
        nancy,
        studies_produced=20,
        outside_accesses=4,
        practitioner_ids=[1, 3],
        portal_patient_ids=[100, 101],
        break_glass_uses=1,
        studies_shared=8,
        accreditations_active=5,
        members_by_offer={"pacs": 1, "sharing": 1},
    )
    rollup("2026-08-15", icl, studies_shared=1, members_by_offer={"sharing": 1})
    rollup(
        "2026-09-30",
        studies_produced=15,
        outside_accesses=3,
        practitioner_ids=[1, 4],
        portal_patient_ids=[102],
        studies_shared=12,
        accreditations_active=14,
        accreditations_active_hospital=8,
        accreditations_active_city=6,
        members_by_offer={"archive": 1, "pacs": 1, "sharing": 2},
    )
    rollup(
        "2026-09-30",
        nancy,
        studies_produced=6,
        outside_accesses=1,
        practitioner_ids=[1],
        studies_shared=9,
        accreditations_active=5,
        members_by_offer={"pacs": 1, "sharing": 1},
    )
    rollup(
        "2026-09-30",
        icl,
        studies_produced=9,
        outside_accesses=2,
        practitioner_ids=[4],
        portal_patient_ids=[102],
        studies_shared=3,
        accreditations_active=3,
        members_by_offer={"sharing": 1},
    )
    rollup("2026-09-30", metz, members_by_offer={"archive": 1})
    return network


def make_indicator(code: str, computation: str, **fields: Any) -> Indicator:
    values: dict[str, Any] = {
        "label": f"Indicateur {code}",
        "unit": "unités",
        "target": Decimal("100"),
    }
    values.update(fields)
    return services.indicator_create(code=code, computation=computation, **values)


@pytest.fixture
def indicators(regional_admin: User) -> dict[str, Indicator]:
    """RCO14 (connected establishments), RCR11 (practitioners who accessed), PART (share of the
    regional volume, total 200 entered for Q3), BUDGET (spent 130 000 of 150 000 planned)."""
    rco14 = make_indicator(
        "RCO14",
        C.ESTABLISHMENTS_CONNECTED,
        label="Institutions publiques soutenues pour développer des services numériques",
        unit="établissements",
        target=Decimal("10"),
        target_date=datetime.date(2029, 12, 31),
        method_note="Établissements signataires d'un bon de commande en vigueur.",
        position=1,
    )
    services.milestone_add(indicator=rco14, due_date=datetime.date(2026, 6, 30), value=Decimal("2"))
    services.milestone_add(
        indicator=rco14, due_date=datetime.date(2027, 12, 31), value=Decimal("6")
    )
    rcr11 = make_indicator(
        "RCR11",
        C.PRACTITIONERS_ACCESSING,
        label="Utilisateurs de services numériques publics nouveaux et améliorés",
        unit="utilisateurs",
        target=Decimal("500"),
        position=2,
    )
    services.milestone_add(
        indicator=rcr11, due_date=datetime.date(2026, 9, 30), value=Decimal("20")
    )
    share = make_indicator(
        "PART",
        C.REGIONAL_VOLUME_SHARE,
        label="Part du volume régional d'imagerie",
        unit="%",
        baseline=Decimal("10"),
        target=Decimal("40"),
        position=3,
    )
    services.manual_value_enter(
        indicator=share,
        period=Q3,
        value=Decimal("200"),
        justification="Volume régional PMSI/SNDS du trimestre, extraction de l'ARS.",
        entered_by=regional_admin,
    )
    budget = make_indicator(
        "BUDGET",
        C.MANUAL,
        label="Budget consommé",
        unit="euros",
        target=Decimal("600000"),
        position=4,
    )
    services.manual_value_enter(
        indicator=budget,
        period=Q3,
        value=Decimal("120000"),
        planned=Decimal("150000"),
        justification="Première estimation du service financier.",
        entered_by=regional_admin,
    )
    services.manual_value_enter(
        indicator=budget,
        period=Q3,
        value=Decimal("130000"),
        planned=Decimal("150000"),
        justification="Montant arrêté après rapprochement des factures du trimestre.",
        entered_by=regional_admin,
    )
    make_indicator("ANCIEN", C.BREAK_GLASS, active=False, position=9)
    return {"RCO14": rco14, "RCR11": rcr11, "PART": share, "BUDGET": budget}


def values_by_code(period=Q3, codes=None) -> dict[str, Any]:
    return {item.indicator.code: item for item in indicator_values(period=period, codes=codes)}


# --- Values against the hand count ------------------------------------------------------------


@pytest.mark.parametrize(
    ("computation", "expected"),
    [
        (C.ESTABLISHMENTS_CONNECTED, 3),
        (C.ESTABLISHMENTS_SHARING, 2),
        (C.STUDIES_PRODUCED, 50),
        (C.STUDIES_SHARED, 12),
        (C.OUTSIDE_ACCESSES, 10),
        (C.PRACTITIONERS_ACCREDITED, 14),
        (C.PRACTITIONERS_ACCREDITED_HOSPITAL, 8),
        (C.PRACTITIONERS_ACCREDITED_CITY, 6),
        (C.PRACTITIONERS_ACCESSING, 4),
        (C.PORTAL_PATIENTS, 3),
        (C.BREAK_GLASS, 1),
    ],
)
def test_it_computes_each_rollup_indicator_as_counted_by_hand(
    quarter, computation, expected
) -> None:
    make_indicator("X1", computation)
    (item,) = indicator_values(period=Q3)
    assert item.value == Decimal(expected)
    assert item.missing == ""


def test_it_reads_the_previous_quarter_on_its_own(quarter) -> None:
    make_indicator("PROD", C.STUDIES_PRODUCED)
    make_indicator("MEMB", C.ESTABLISHMENTS_CONNECTED)
    values = values_by_code(period=period_parse("2026-Q2"))
    assert values["PROD"].value == 40
    assert values["MEMB"].value == 0  # no rollup on 30/06: nobody listed that day


def test_it_reports_baseline_milestone_target_progress_and_track(quarter, indicators) -> None:
    values = values_by_code()
    rco14 = values["RCO14"]
    assert (rco14.value, rco14.baseline, rco14.target) == (3, 0, 10)
    assert rco14.milestone is not None
    assert rco14.milestone.due_date == datetime.date(2026, 6, 30)
    assert rco14.progress == Decimal("30.0")
    assert rco14.on_track is True  # 3 establishments ≥ the 2 due by 30/06/2026
    rcr11 = values["RCR11"]
    assert rcr11.value == 4
    assert rcr11.milestone is not None
    assert rcr11.milestone.value == 20
    assert rcr11.progress == Decimal("0.8")
    assert rcr11.on_track is False  # 4 practitioners < the 20 due by 30/09/2026


def test_it_expects_nothing_before_the_first_milestone(quarter, indicators) -> None:
    values = values_by_code(period=period_parse("2026-Q2"))
    assert values["RCR11"].milestone is None
    assert values["RCR11"].on_track is None


def test_a_target_whose_date_has_come_replaces_the_milestones(quarter) -> None:
    indicator = make_indicator(
        "PROD", C.STUDIES_PRODUCED, target=Decimal("60"), target_date=datetime.date(2026, 9, 1)
    )
    services.milestone_add(
        indicator=indicator, due_date=datetime.date(2026, 8, 1), value=Decimal("30")
    )
    item = values_by_code()["PROD"]
    assert item.expected == 60
    assert item.on_track is False  # 50 < 60, although 50 ≥ the milestone's 30


def test_a_falling_target_is_on_track_when_the_value_goes_down(quarter) -> None:
    indicator = make_indicator("URG", C.BREAK_GLASS, baseline=Decimal("5"), target=Decimal("0"))
    services.milestone_add(
        indicator=indicator, due_date=datetime.date(2026, 7, 1), value=Decimal("2")
    )
    item = values_by_code()["URG"]
    assert item.value == 1
    assert item.progress == Decimal("80.0")
    assert item.on_track is True


def test_it_takes_only_the_followed_indicators_by_default(quarter, indicators) -> None:
    assert list(values_by_code()) == ["RCO14", "RCR11", "PART", "BUDGET"]
    assert list(values_by_code(codes=["ancien", "RCO14"])) == ["RCO14", "ANCIEN"]


def test_it_names_the_unknown_indicators(quarter, indicators) -> None:
    with pytest.raises(UnknownIndicators) as caught:
        indicator_values(period=Q3, codes=["RCO14", "RCO99", "XYZ"])
    assert str(caught.value) == "Indicateurs inconnus : RCO99, XYZ."


# --- The share of the regional volume ---------------------------------------------------------


def test_the_share_divides_the_networks_studies_by_the_entered_regional_total(
    quarter, indicators
) -> None:
    share = values_by_code()["PART"]
    assert share.value == Decimal("25.00")  # 50 studies of the network / 200 in the region
    assert share.progress == Decimal("50.0")  # from 10 % to 40 %: half-way
    assert "50 examens du réseau sur 200" in share.detail


def test_the_share_needs_the_total_of_that_very_period(quarter, indicators) -> None:
    share = values_by_code(period=period_parse("2026-09"))["PART"]
    assert share.value is None
    assert share.missing == "valeur non saisie"


def test_a_regional_total_of_zero_is_refused(indicators, regional_admin) -> None:
    with pytest.raises(ValidationError) as caught:
        services.manual_value_enter(
            indicator=indicators["PART"],
            period=Q3,
            value=Decimal("0"),
            justification="Essai.",
            entered_by=regional_admin,
        )
    assert caught.value.message_dict["value"] == ["Le volume régional doit être supérieur à zéro."]


# --- Manual values ----------------------------------------------------------------------------


def test_the_latest_entry_for_a_period_wins_and_both_stay_recorded(quarter, indicators) -> None:
    budget = values_by_code()["BUDGET"]
    assert (budget.value, budget.planned) == (Decimal("130000"), Decimal("150000"))
    assert budget.entry is not None
    assert budget.entry.justification.startswith("Montant arrêté")
    assert ManualValue.objects.filter(indicator=indicators["BUDGET"]).count() == 2


def test_the_narrowest_covering_entry_wins_over_a_later_yearly_one(
    quarter, indicators, regional_admin
) -> None:
    services.manual_value_enter(
        indicator=indicators["BUDGET"],
        period=period_parse("2026"),
        value=Decimal("500000"),
        justification="Budget de l'année.",
        entered_by=regional_admin,
    )
    assert values_by_code()["BUDGET"].value == Decimal("130000")
    assert values_by_code(period=period_parse("2026"))["BUDGET"].value == Decimal("500000")


def test_an_uncovered_period_has_no_value(quarter, indicators) -> None:
    budget = values_by_code(period=period_parse("2026-Q4"))["BUDGET"]
    assert budget.value is None
    assert budget.missing == "valeur non saisie"
    assert budget.progress is None
    assert budget.on_track is None


def test_a_manual_value_needs_a_justification(indicators, regional_admin) -> None:
    with pytest.raises(ValidationError) as caught:
        services.manual_value_enter(
            indicator=indicators["BUDGET"],
            period=Q3,
            value=Decimal("1"),
            justification="   ",
            entered_by=regional_admin,
        )
    assert "justification" in caught.value.message_dict


def test_a_computed_indicator_takes_no_entered_value(indicators, regional_admin) -> None:
    with pytest.raises(ValidationError, match="calculé à partir des agrégats"):
        services.manual_value_enter(
            indicator=indicators["RCO14"],
            period=Q3,
            value=Decimal("1"),
            justification="Essai.",
            entered_by=regional_admin,
        )


def test_codes_are_unique_whatever_their_case(indicators) -> None:
    with pytest.raises(ValidationError) as caught:
        make_indicator("rco14", C.MANUAL)
    assert caught.value.message_dict["code"] == ["Un indicateur porte déjà le code « rco14 »."]


def test_two_milestones_cannot_share_a_date(indicators) -> None:
    with pytest.raises(ValidationError) as caught:
        services.milestone_add(
            indicator=indicators["RCO14"], due_date=datetime.date(2026, 6, 30), value=Decimal("3")
        )
    assert caught.value.message_dict["due_date"] == ["Un jalon est déjà fixé au 30/06/2026."]


def test_values_cost_a_fixed_number_of_queries(
    quarter, indicators, django_assert_num_queries
) -> None:
    # Indicators, their milestones and entries, the state, the region's rows, the members.
    with django_assert_num_queries(6):
        indicator_values(period=Q3)


# --- Pages ------------------------------------------------------------------------------------


def test_it_lists_the_indicators_for_regional_admins(
    client_for, regional_admin, indicators, django_assert_num_queries
) -> None:
    client = client_for(regional_admin)
    # Signing in, the roles and the session: 9; the indicators and their milestones: 2, whatever
    # their number.
    with django_assert_num_queries(11):
        response = client.get("/pilotage/indicateurs/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "RCO14" in page
    assert "Institutions publiques soutenues" in page
    assert "ANCIEN" in page  # no longer followed, still listed


@pytest.mark.parametrize("role", ["director", "practitioner", "auditor", "patient"])
def test_other_roles_may_not_see_the_indicators(request, client_for, role, indicators) -> None:
    client = client_for(request.getfixturevalue(role))
    pk = indicators["RCO14"].pk
    for url in (
        "/pilotage/indicateurs/",
        "/pilotage/indicateurs/nouveau/",
        f"/pilotage/indicateurs/{pk}/",
        f"/pilotage/indicateurs/{pk}/modifier/",
    ):
        assert client.get(url).status_code == 403, url
    for url in (
        f"/pilotage/indicateurs/{pk}/jalons/",
        f"/pilotage/indicateurs/{pk}/valeurs/",
    ):
        assert client.post(url, {}).status_code == 403, url
    assert Indicator.objects.get(pk=pk).milestones.count() == 2


def test_anonymous_visitors_are_sent_to_sign_in(client, indicators) -> None:
    response = client.get("/pilotage/indicateurs/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def indicator_form(**changes: str) -> dict[str, str]:
    data = {
        "code": "RCR12",
        "label": "Patients utilisant leur espace",
        "unit": "patients",
        "programme": "FEDER 2021-2027",
        "computation": C.PORTAL_PATIENTS,
        "baseline": "0",
        "target": "1 500,5",
        "target_date": "2029-12-31",
        "method_note": "",
        "position": "5",
        "active": "on",
    }
    data.update(changes)
    return data


def test_a_regional_admin_creates_an_indicator_with_french_decimals(
    client_for, regional_admin
) -> None:
    response = client_for(regional_admin).post("/pilotage/indicateurs/nouveau/", indicator_form())
    indicator = Indicator.objects.get(code="RCR12")
    assert response.status_code == 302
    assert response["Location"] == f"/pilotage/indicateurs/{indicator.pk}/"
    assert indicator.target == Decimal("1500.50")


def test_the_form_explains_its_refusals_in_french(client_for, regional_admin, indicators) -> None:
    response = client_for(regional_admin).post(
        "/pilotage/indicateurs/nouveau/",
        indicator_form(code="RCO14", target="beaucoup", label=""),
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Un indicateur porte déjà le code « RCO14 »." in page
    assert "Saisissez un nombre." in page
    assert "Ce champ est obligatoire." in page
    assert not Indicator.objects.filter(label="").exists()


def test_a_regional_admin_edits_an_indicator(client_for, regional_admin, indicators) -> None:
    rco14 = indicators["RCO14"]
    client = client_for(regional_admin)
    page = client.get(f"/pilotage/indicateurs/{rco14.pk}/modifier/").content.decode()
    assert 'value="RCO14"' in page
    response = client.post(
        f"/pilotage/indicateurs/{rco14.pk}/modifier/",
        indicator_form(code="RCO14", computation=C.ESTABLISHMENTS_SHARING, target="12"),
    )
    assert response.status_code == 302
    rco14.refresh_from_db()
    assert (rco14.computation, rco14.target) == (C.ESTABLISHMENTS_SHARING, Decimal("12"))


def test_a_regional_admin_adds_and_removes_milestones(
    client_for, regional_admin, indicators
) -> None:
    rcr11 = indicators["RCR11"]
    client = client_for(regional_admin)
    url = f"/pilotage/indicateurs/{rcr11.pk}/"
    response = client.post(f"{url}jalons/", {"due_date": "2027-06-30", "value": "120"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "30/06/2027" in page
    assert "120" in page
    again = client.post(f"{url}jalons/", {"due_date": "2027-06-30", "value": "130"})
    assert again.status_code == 400
    assert "Un jalon est déjà fixé au 30/06/2027." in again.content.decode()
    milestone = rcr11.milestones.get(due_date=datetime.date(2027, 6, 30))
    assert client.post(f"{url}jalons/{milestone.pk}/retirer/").status_code == 302
    assert not rcr11.milestones.filter(pk=milestone.pk).exists()


def test_a_milestone_of_another_indicator_is_not_found(
    client_for, regional_admin, indicators
) -> None:
    other = indicators["RCO14"].milestones.first()
    assert other is not None
    response = client_for(regional_admin).post(
        f"/pilotage/indicateurs/{indicators['RCR11'].pk}/jalons/{other.pk}/retirer/"
    )
    assert response.status_code == 404
    assert type(other).objects.filter(pk=other.pk).exists()


def test_manual_values_are_entered_with_a_justification_and_kept_in_history(
    client_for, regional_admin, indicators
) -> None:
    budget = indicators["BUDGET"]
    client = client_for(regional_admin)
    url = f"/pilotage/indicateurs/{budget.pk}/"
    refused = client.post(
        f"{url}valeurs/", {"period": "2026-Q4", "value": "140 000", "justification": ""}
    )
    assert refused.status_code == 400
    assert "Justifiez la valeur saisie." in refused.content.decode()
    bad_period = client.post(
        f"{url}valeurs/", {"period": "2026-Q5", "value": "1", "justification": "Essai."}
    )
    assert "Période « 2026-Q5 » non reconnue" in bad_period.content.decode()
    response = client.post(
        f"{url}valeurs/",
        {
            "period": "2026-Q4",
            "value": "140 000",
            "planned": "150000",
            "justification": "Situation au 31/12 transmise par l'agence comptable.",
        },
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Situation au 31/12 transmise par l&#x27;agence comptable." in page
    assert "Première estimation du service financier." in page  # earlier entries stay
    assert "Alice Admin" in page
    assert values_by_code(period=period_parse("2026-Q4"))["BUDGET"].value == 140000


def test_a_computed_indicator_offers_no_value_entry(client_for, regional_admin, indicators) -> None:
    client = client_for(regional_admin)
    pk = indicators["RCO14"].pk
    assert "Nouvelle saisie" not in client.get(f"/pilotage/indicateurs/{pk}/").content.decode()
    response = client.post(
        f"/pilotage/indicateurs/{pk}/valeurs/",
        {"period": "2026-Q3", "value": "1", "justification": "Essai."},
    )
    assert response.status_code == 404


def test_the_share_indicator_asks_for_the_regional_total(
    client_for, regional_admin, indicators
) -> None:
    page = (
        client_for(regional_admin)
        .get(f"/pilotage/indicateurs/{indicators['PART'].pk}/")
        .content.decode()
    )
    assert "Volume régional total d&#x27;examens de la période" in page
    assert "Valeur prévue" not in page
