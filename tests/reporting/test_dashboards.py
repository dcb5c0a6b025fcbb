"""The dashboards against hand-counted rollups: October 2026 compared with September, at the
hospital (CHR Metz-Thionville, which the cast director directs) and the clinic (Institut de
Cancérologie de Lorraine). Every figure asserted below is counted in ``rollups`` by hand."""

from __future__ import annotations

import csv
import datetime
import html
import io
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from establishments.models import Establishment, Membership
from portal.models import User
from portal.roles import Role
from portal.services import user_grant_group_role
from reporting.dashboard_forms import comparison_period, period_presets
from reporting.models import DailyRollup, RollupState
from reporting.periods import period_parse
from reporting.selectors import has_partial_weeks, series
from tests.browser_support import screenshot, sign_in
from tests.factories import (
    PASSWORD,
    EstablishmentFactory,
    MembershipFactory,
    UserFactory,
    enrol_totp,
)

pytestmark = pytest.mark.django_db

REGION = "/pilotage/"
OCTOBER = {"periode": "2026-10"}


def day(month: int, number: int) -> datetime.date:
    return datetime.date(2026, month, number)


def roll(when: datetime.date, establishment: Establishment | None = None, **fields: Any) -> None:
    DailyRollup.objects.create(day=when, establishment=establishment, **fields)


@pytest.fixture
def rollups(hospital: Establishment, clinic: Establishment) -> dict[str, Establishment]:
    """September: the region 8 studies (the hospital 4). October: the region 12 studies
    (5 + 3 + 4), 4 outside accesses, practitioners {1, 2} then {2, 3} (3 distinct), shared
    studies 10, 9 then 7 at the end; the hospital 9 studies (75 %), the clinic 3 (25 %)."""
    roll(
        day(9, 15),
        studies_produced=8,
        studies_shared=5,
        outside_accesses=2,
        practitioner_ids=[1],
        accreditations_active=3,
        members_by_offer={"sharing": 1},
    )
    roll(
        day(10, 1),
        studies_produced=5,
        studies_shared=10,
        outside_accesses=3,
        practitioner_ids=[1, 2],
        portal_patient_ids=[7],
        break_glass_uses=1,
        accreditations_active=4,
        members_by_offer={"sharing": 1},
    )
    roll(
        day(10, 15),
        studies_produced=3,
        studies_shared=9,
        outside_accesses=1,
        practitioner_ids=[2, 3],
        portal_patient_ids=[7, 8],
        accreditations_active=5,
        members_by_offer={"sharing": 1},
    )
    roll(
        day(10, 31),
        studies_produced=4,
        studies_shared=7,
        accreditations_active=6,
        accreditations_active_hospital=2,
        accreditations_active_city=4,
        members_by_offer={"pacs": 1, "sharing": 2},
    )
    roll(day(9, 15), hospital, studies_produced=4, members_by_offer={"sharing": 1})
    roll(
        day(10, 1),
        hospital,
        studies_produced=4,
        studies_shared=6,
        outside_accesses=2,
        practitioner_ids=[1, 2],
        members_by_offer={"sharing": 1},
    )
    roll(
        day(10, 31),
        hospital,
        studies_produced=5,
        studies_shared=4,
        practitioner_ids=[1],
        members_by_offer={"pacs": 1, "sharing": 1},
    )
    roll(
        day(10, 15),
        clinic,
        studies_produced=3,
        outside_accesses=1,
        practitioner_ids=[3],
        break_glass_uses=1,
    )
    roll(day(10, 31), clinic, members_by_offer={"sharing": 1})
    RollupState.objects.create(pk=1, complete_until=day(11, 30))
    return {"hospital": hospital, "clinic": clinic}


# --- Reading pages as a user reads them --------------------------------------------------------


def _plain(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


def source(response: Any) -> str:
    """The page's HTML, entities decoded and spaces folded."""
    return _plain(html.unescape(response.content.decode()))


class _Tables(HTMLParser):
    """Each table of a page by caption: its rows (the header first) as cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, str] = {}
        self._caption: list[str] | None = None
        self._rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._href = ""
        self._link: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._rows = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self._href, self._link = dict(attrs).get("href") or "", []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self._rows[-1].append(_plain("".join(self._cell)))
            self._cell = None
        elif tag == "a" and self._link is not None:
            self.links[_plain("".join(self._link))] = self._href
            self._link = None
        elif tag == "table" and self._caption is not None:
            self.tables[_plain("".join(self._caption))] = self._rows
            self._caption = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None and not self._rows:
            self._caption.append(data)
        if self._link is not None:
            self._link.append(data)


def read(response: Any) -> _Tables:
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser


def row(table: list[list[str]], header: str) -> list[str]:
    return next(line for line in table if line[0] == header)


def signed_in(client_for: Any, user: User) -> Client:
    client: Client = client_for(user)
    return client


# --- The region ---------------------------------------------------------------------------------


def test_it_shows_the_regions_figures_beside_the_previous_period(
    rollups, client_for, regional_admin
) -> None:
    response = signed_in(client_for, regional_admin).get(REGION, OCTOBER)
    assert response.status_code == 200
    table = read(response).tables["Indicateurs de la région, octobre 2026"]
    assert table[0] == ["Indicateur", "octobre 2026", "septembre 2026", "Écart", "Évolution"]
    # Flows: the sum of the days.
    assert row(table, "Examens produits") == ["Examens produits", "12", "8", "+4", "+50,0 %"]
    assert row(table, "Consultations par des professionnels extérieurs")[1:] == [
        "4",
        "2",
        "+2",
        "+100,0 %",
    ]
    assert row(table, "Accès d'urgence")[1:] == ["1", "0", "+1", "—"]
    # Stocks: the last day, not the sum (10 + 9 + 7).
    assert row(table, "Examens partagés hors établissement (fin de période)")[1:3] == ["7", "5"]
    assert row(table, "Habilitations en cours (fin de période)")[1:4] == ["6", "3", "+3"]
    assert row(table, "dont professionnels de ville")[1] == "4"
    # Sets: practitioners 1, 2, 3 (2 came twice); patients 7, 8.
    assert row(table, "Professionnels ayant consulté")[1:4] == ["3", "1", "+2"]
    assert row(table, "Patients venus sur leur espace")[1:3] == ["2", "0"]


def test_it_shows_each_establishments_share_and_links_to_its_page(
    rollups, client_for, regional_admin, hospital, clinic
) -> None:
    response = signed_in(client_for, regional_admin).get(REGION, OCTOBER)
    page = read(response)
    table = page.tables["Chiffres de chaque établissement, octobre 2026"]
    assert table[0][:3] == ["Établissement", "Examens produits", "Part du volume régional"]
    assert [line[:3] for line in table[1:]] == [
        ["CHR Metz-Thionville", "9", "75,0 %"],
        ["Institut de Cancérologie de Lorraine", "3", "25,0 %"],
    ]
    assert page.links["CHR Metz-Thionville"] == f"/pilotage/etablissements/{hospital.pk}/"
    assert page.links["Institut de Cancérologie de Lorraine"] == (
        f"/pilotage/etablissements/{clinic.pk}/"
    )
    # The bars say the same in words.
    assert "CHR Metz-Thionville : 75,0" in source(response)


def test_it_draws_the_charts_over_time_each_with_its_table(
    rollups, client_for, regional_admin
) -> None:
    response = signed_in(client_for, regional_admin).get(REGION, OCTOBER)
    text = response.content.decode()
    assert text.count('role="img"') == 3
    assert "<title id=" in text
    assert ">Examens produits, octobre 2026</title>" in text
    assert ">Consultations par des professionnels extérieurs, octobre 2026</title>" in text
    studies = read(response).tables["Examens produits, octobre 2026"]
    assert studies[0] == ["Jour", "Examens produits"]
    assert len(studies) == 1 + 31  # one line a day
    assert studies[1] == ["01/10/2026", "5"]
    assert studies[15] == ["15/10/2026", "3"]
    assert studies[2] == ["02/10/2026", "0"]


def test_a_quarter_is_drawn_week_by_week(rollups, client_for, regional_admin) -> None:
    response = signed_in(client_for, regional_admin).get(REGION, {"periode": "2026-Q4"})
    studies = read(response).tables["Examens produits, 4e trimestre 2026"]
    assert studies[0] == ["Semaine du", "Jours de la période", "Examens produits"]
    # Monday 28 September holds 1 October (Thursday) to 4 October; Monday 12 October the 15th.
    assert studies[1] == ["28/09/2026", "4", "5"]
    assert row(studies, "12/10/2026") == ["12/10/2026", "7", "3"]
    assert studies[-1][:2] == ["28/12/2026", "4"]
    # The chart marks the two cut weeks, and only them.
    text = response.content.decode()
    assert ">28/09*<" in text
    assert ">28/12*<" in text
    assert ">12/10*<" not in text


def test_a_week_cut_by_the_periods_edge_counts_only_its_days_inside(rollups) -> None:
    points = series(measure="studies_produced", period=period_parse("2026-Q4"))

    first, second, last = points[0], points[1], points[-1]
    # 1 October 2026 is a Thursday, 31 December too.
    assert (first.start, first.days, first.length, first.partial) == (
        datetime.date(2026, 9, 28),
        4,
        7,
        True,
    )
    assert (second.days, second.partial) == (7, False)
    assert (last.start, last.days, last.partial) == (datetime.date(2026, 12, 28), 4, True)
    assert [p for p in points if p.partial] == [first, last]
    assert has_partial_weeks(period_parse("2026-Q4"))
    assert not has_partial_weeks(period_parse("2026-10"))  # drawn day by day


def test_it_shows_the_members_per_offer(rollups, client_for, regional_admin) -> None:
    response = signed_in(client_for, regional_admin).get(REGION, OCTOBER)
    tables = read(response).tables
    offers = tables["Établissements membres par offre (fin de période)"]
    assert row(offers, "Partage d'images")[1:] == ["2", "1", "+1"]
    assert row(offers, "PACS")[1:] == ["1", "0", "+1"]
    assert row(offers, "Archivage")[1:] == ["0", "0", "0"]
    members = tables["Établissements membres et leurs offres au 31/10/2026"]
    assert members[1:] == [
        ["CHR Metz-Thionville", "PACS, Partage d'images"],
        ["Institut de Cancérologie de Lorraine", "Partage d'images"],
    ]


def test_it_says_how_fresh_the_rollups_are(rollups, client_for, regional_admin) -> None:
    client = signed_in(client_for, regional_admin)
    text = source(client.get(REGION, OCTOBER))
    assert "Données à jour jusqu'au 30 novembre 2026 inclus." in text
    assert "provisoires" not in text
    text = source(client.get(REGION, {"periode": "2026-Q4"}))
    assert "Les jours suivants sont provisoires" in text


# --- The period picker -------------------------------------------------------------------------


def test_it_offers_preset_periods_and_shows_this_month_by_default(
    rollups, client_for, regional_admin
) -> None:
    today = timezone.localdate()
    response = signed_in(client_for, regional_admin).get(REGION)
    assert response.status_code == 200
    text = source(response)
    this_month = f"{today.year}-{today.month:02d}"
    assert f'<option value="{this_month}" selected>Ce mois-ci' in text
    for label in ("Le mois dernier", "Ce trimestre", "Le trimestre dernier", "Cette année"):
        assert label in text
    assert f'<option value="{today.year - 1}">L\'année dernière (année {today.year - 1})' in text
    assert 'type="date" name="du"' in text


def test_two_dates_lead_to_the_periods_address(rollups, client_for, regional_admin) -> None:
    client = signed_in(client_for, regional_admin)
    response = client.get(REGION, {"du": "2026-10-01", "au": "2026-10-15"})
    assert response.status_code == 302
    assert response["Location"] == "/pilotage/?periode=2026-10-01..2026-10-15"
    response = client.get(response["Location"])
    table = read(response).tables["Indicateurs de la région, du 01/10/2026 au 15/10/2026"]
    # 5 + 3 studies, compared with the 15 days before (16-30 September: none).
    assert table[0][2] == "du 16/09/2026 au 30/09/2026"
    assert row(table, "Examens produits")[1:] == ["8", "0", "+8", "—"]
    assert 'value="2026-10-01"' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"periode": "2026-13"}, "Date impossible dans la période « 2026-13 »."),
        ({"periode": "hier"}, "Période « hier » non reconnue"),
        ({"du": "2026-10-01"}, "Indiquez le premier et le dernier jour de la période."),
        ({"du": "2026-10-15", "au": "2026-10-01"}, "La fin de la période précède son début."),
        ({"du": "2026-02-30", "au": "2026-03-01"}, "Saisissez une date valide."),
        ({"du": "2016-01-01", "au": "2026-01-01"}, "Une période dure au plus cinq ans."),
    ],
)
def test_a_bad_period_is_refused_with_a_french_message(
    rollups, client_for, regional_admin, query, message
) -> None:
    response = signed_in(client_for, regional_admin).get(REGION, query)
    assert response.status_code == 400
    text = source(response)
    assert message in text
    assert 'role="alert"' in text
    assert 'id="id_periode"' in text  # the picker, to try again
    assert "Indicateurs de la région" not in text


# --- An establishment, and who sees it -------------------------------------------------------


def test_a_director_sees_their_establishment_and_its_share(
    rollups, client_for, director, hospital
) -> None:
    response = signed_in(client_for, director).get(
        f"/pilotage/etablissements/{hospital.pk}/", OCTOBER
    )
    assert response.status_code == 200
    tables = read(response).tables
    table = tables["Indicateurs de l'établissement, octobre 2026"]
    assert row(table, "Examens produits")[1:] == ["9", "4", "+5", "+125,0 %"]
    # 9 of the region's 12; in September 4 of 8.
    assert row(table, "Part du volume régional d'imagerie")[1:4] == ["75,0 %", "50,0 %", "+25,0 pt"]
    assert row(table, "Examens partagés hors établissement (fin de période)")[1] == "4"
    assert row(table, "Professionnels ayant consulté")[1] == "2"
    offers = tables["Offres souscrites (fin de période)"]
    assert row(offers, "PACS")[1:] == ["oui", "non"]
    assert row(offers, "Partage d'images")[1:] == ["oui", "oui"]
    # Nothing of the other establishment, nor a way to the region's page.
    text = response.content.decode()
    assert "Institut de Cancérologie" not in text
    assert 'href="/pilotage/"' not in text


def test_a_director_gets_a_404_for_another_establishment(
    rollups, client_for, director, clinic
) -> None:
    client = signed_in(client_for, director)
    assert client.get(f"/pilotage/etablissements/{clinic.pk}/", OCTOBER).status_code == 404
    assert client.get("/pilotage/etablissements/999999/").status_code == 404


def test_a_former_director_is_refused(rollups, client_for, director, hospital) -> None:
    Membership.objects.filter(user=director).update(ended_at=timezone.now())
    response = signed_in(client_for, director).get(f"/pilotage/etablissements/{hospital.pk}/")
    assert response.status_code == 403


def test_a_director_is_refused_the_regions_page(rollups, client_for, director) -> None:
    client = signed_in(client_for, director)
    assert client.get(REGION, OCTOBER).status_code == 403
    assert client.get("/pilotage/export/etablissements.csv", OCTOBER).status_code == 403


def test_a_regional_admin_opens_any_establishment(
    rollups, client_for, regional_admin, clinic
) -> None:
    response = signed_in(client_for, regional_admin).get(
        f"/pilotage/etablissements/{clinic.pk}/", OCTOBER
    )
    assert response.status_code == 200
    table = read(response).tables["Indicateurs de l'établissement, octobre 2026"]
    assert row(table, "Examens produits")[1] == "3"
    assert row(table, "Part du volume régional d'imagerie")[1] == "25,0 %"
    assert 'href="/pilotage/?periode=2026-10"' in response.content.decode()


def test_my_establishment_leads_a_director_to_its_page(
    rollups, client_for, director, hospital
) -> None:
    response = signed_in(client_for, director).get("/pilotage/mon-etablissement/", OCTOBER)
    assert response.status_code == 302
    assert response["Location"] == f"/pilotage/etablissements/{hospital.pk}/?periode=2026-10"


def test_a_director_of_two_establishments_chooses(
    rollups, client_for, director, hospital, clinic
) -> None:
    MembershipFactory(user=director, establishment=clinic, role=Membership.Role.DIRECTOR)
    response = signed_in(client_for, director).get("/pilotage/mon-etablissement/")
    assert response.status_code == 200
    links = read(response).links
    assert links["CHR Metz-Thionville"] == f"/pilotage/etablissements/{hospital.pk}/"
    assert links["Institut de Cancérologie de Lorraine"] == f"/pilotage/etablissements/{clinic.pk}/"


@pytest.mark.parametrize("role", ["practitioner", "patient", "auditor", "referent"])
def test_other_roles_are_refused_every_dashboard(
    rollups, client_for, request, role, hospital
) -> None:
    client = signed_in(client_for, request.getfixturevalue(role))
    for address in (
        REGION,
        f"/pilotage/etablissements/{hospital.pk}/",
        "/pilotage/mon-etablissement/",
        "/pilotage/export/indicateurs.csv",
        f"/pilotage/etablissements/{hospital.pk}/export/indicateurs.xlsx",
    ):
        assert client.get(address, OCTOBER).status_code == 403, address


def test_an_anonymous_visitor_is_sent_to_sign_in(rollups, client) -> None:
    response = client.get(REGION, OCTOBER)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Exports -------------------------------------------------------------------------------------


def _csv(response: Any) -> list[list[str]]:
    content: bytes = response.content
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def _xlsx(response: Any) -> Any:
    return load_workbook(io.BytesIO(response.content)).active


def test_the_establishments_table_downloads_as_csv_for_french_spreadsheets(
    rollups, client_for, regional_admin
) -> None:
    response = signed_in(client_for, regional_admin).get(
        "/pilotage/export/etablissements.csv", OCTOBER
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="pilotage-2026-10-etablissements.csv"'
    )
    lines = _csv(response)
    assert lines[0][:3] == ["Établissement", "Examens produits", "Part du volume régional"]
    assert [line[:3] for line in lines[1:]] == [
        ["CHR Metz-Thionville", "9", "75,00%"],
        ["Institut de Cancérologie de Lorraine", "3", "25,00%"],
    ]
    assert b"\r\n" in response.content


def test_the_indicators_download_as_csv_with_the_trend(rollups, client_for, regional_admin) -> None:
    response = signed_in(client_for, regional_admin).get(
        "/pilotage/export/indicateurs.csv", OCTOBER
    )
    lines = _csv(response)
    assert lines[0] == ["Indicateur", "octobre 2026", "septembre 2026", "Écart", "Évolution"]
    assert row(lines, "Examens produits") == ["Examens produits", "12", "8", "4", "50,00%"]
    assert row(lines, "Accès d'urgence") == ["Accès d'urgence", "1", "0", "1", ""]


def test_the_establishments_table_downloads_as_xlsx(rollups, client_for, regional_admin) -> None:
    response = signed_in(client_for, regional_admin).get(
        "/pilotage/export/etablissements.xlsx", OCTOBER
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="pilotage-2026-10-etablissements.xlsx"'
    )
    sheet = _xlsx(response)
    assert sheet["A1"].value == "Établissement"
    assert [sheet.cell(row=2, column=n).value for n in (1, 2, 3)] == [
        "CHR Metz-Thionville",
        9,
        0.75,
    ]
    assert sheet["C2"].number_format == "0.0%"
    assert sheet["B3"].value == 3
    assert sheet.max_row == 3


def test_a_series_downloads_with_real_dates(rollups, client_for, regional_admin) -> None:
    response = signed_in(client_for, regional_admin).get("/pilotage/export/examens.xlsx", OCTOBER)
    sheet = _xlsx(response)
    assert sheet["A2"].value == datetime.datetime(2026, 10, 1)
    assert sheet["B2"].value == 5
    assert sheet.max_row == 32
    lines = _csv(signed_in(client_for, regional_admin).get("/pilotage/export/examens.csv", OCTOBER))
    assert lines[1] == ["01/10/2026", "5"]


def test_a_name_is_never_run_as_a_formula(client_for, regional_admin) -> None:
    odd = EstablishmentFactory(name='=HYPERLINK("http://exemple.test";"clic")')
    roll(day(10, 3), odd, studies_produced=1)
    client = signed_in(client_for, regional_admin)
    lines = _csv(client.get("/pilotage/export/etablissements.csv", OCTOBER))
    assert lines[1][0] == "'" + odd.name
    cell = _xlsx(client.get("/pilotage/export/etablissements.xlsx", OCTOBER))["A2"]
    assert cell.value == odd.name
    assert cell.data_type == "s"


def test_a_director_downloads_their_establishments_tables_only(
    rollups, client_for, director, hospital, clinic
) -> None:
    client = signed_in(client_for, director)
    mine = f"/pilotage/etablissements/{hospital.pk}/export/indicateurs.xlsx"
    response = client.get(mine, OCTOBER)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="pilotage-2026-10-etablissement-{hospital.pk}-indicateurs.xlsx"'
    )
    sheet = _xlsx(response)
    assert [sheet.cell(row=2, column=n).value for n in (1, 2, 3)] == ["Examens produits", 9, 4]
    assert sheet.cell(row=3, column=2).value == 0.75
    theirs = f"/pilotage/etablissements/{clinic.pk}/export/indicateurs.xlsx"
    assert client.get(theirs, OCTOBER).status_code == 404


def test_the_page_links_each_table_to_its_downloads(rollups, client_for, regional_admin) -> None:
    links = read(signed_in(client_for, regional_admin).get(REGION, OCTOBER)).links
    caption = "Chiffres de chaque établissement, octobre 2026"
    assert links[f"CSV – {caption}"] == "/pilotage/export/etablissements.csv?periode=2026-10"
    assert links[f"XLSX – {caption}"] == "/pilotage/export/etablissements.xlsx?periode=2026-10"
    assert sum(name.startswith("XLSX – ") for name in links) == 6


def test_an_export_refuses_an_unknown_table_format_or_period(
    rollups, client_for, regional_admin
) -> None:
    client = signed_in(client_for, regional_admin)
    assert client.get("/pilotage/export/patients.csv", OCTOBER).status_code == 404
    assert client.get("/pilotage/export/indicateurs.pdf", OCTOBER).status_code == 404
    response = client.get("/pilotage/export/indicateurs.csv", {"periode": "2026-13"})
    assert response.status_code == 400
    assert "Date impossible" in response.content.decode()


# --- Query counts ------------------------------------------------------------------------------


def _region_of(establishments: int, days: int) -> list[Establishment]:
    places = EstablishmentFactory.create_batch(establishments)
    start = day(10, 1)
    for offset in range(days):
        when = start + datetime.timedelta(days=offset)
        roll(when, studies_produced=establishments, practitioner_ids=[offset])
        for place in places:
            roll(when, place, studies_produced=1, members_by_offer={"sharing": 1})
    return places


@pytest.mark.parametrize(("establishments", "days"), [(2, 3), (12, 61)])
def test_each_page_costs_the_same_few_queries(
    client_for,
    regional_admin,
    director,
    hospital,
    django_assert_max_num_queries,
    establishments,
    days,
) -> None:
    places = _region_of(establishments, days)
    MembershipFactory(user=director, establishment=places[0], role=Membership.Role.DIRECTOR)
    admin, boss = Client(), Client()
    admin.force_login(regional_admin)
    boss.force_login(director)
    period = {"periode": "2026-10-01..2026-11-30"}
    # Sign-in, roles and session: 9 queries; then the figures (the region page: the state, the
    # period and the one before, two series, the establishments' table in 3, the members).
    addresses = [
        (admin, REGION, 18),
        (admin, f"/pilotage/etablissements/{places[0].pk}/", 17),
        (boss, f"/pilotage/etablissements/{places[0].pk}/", 17),
        (admin, "/pilotage/export/etablissements.xlsx", 12),
        (boss, f"/pilotage/etablissements/{places[0].pk}/export/indicateurs.csv", 14),
    ]
    for client, address, queries in addresses:
        client.get(address, period)  # sessions and roles warmed up
        with django_assert_max_num_queries(queries):
            assert client.get(address, period).status_code == 200


# --- Home panels and navigation ----------------------------------------------------------------


def test_the_home_page_sums_up_this_month_for_a_regional_admin(client_for, regional_admin) -> None:
    today = timezone.localdate()
    roll(today.replace(day=1), studies_produced=1234, outside_accesses=7)
    response = signed_in(client_for, regional_admin).get("/")
    text = source(response)
    assert "Activité du réseau" in text
    assert "<strong>1 234</strong>Examens produits" in text
    assert f'href="/pilotage/?periode={today.year}-{today.month:02d}"' in text
    assert '<a href="/pilotage/">Tableaux de bord</a>' in text


def test_the_home_page_sums_up_this_month_for_a_director(
    client_for, director, hospital, clinic
) -> None:
    first = timezone.localdate().replace(day=1)
    roll(first, hospital, studies_produced=42)
    roll(first, clinic, studies_produced=99)
    response = signed_in(client_for, director).get("/")
    text = source(response)
    assert "<strong>42</strong>Examens produits" in text
    assert "99" not in text.split("Activité –")[1].split("</section>")[0]
    assert f'href="/pilotage/etablissements/{hospital.pk}/?periode=' in text
    assert '<a href="/pilotage/mon-etablissement/">Tableaux de bord</a>' in text


def test_other_roles_see_neither_panel_nor_menu_entry(client_for, practitioner) -> None:
    text = signed_in(client_for, practitioner).get("/").content.decode()
    assert "/pilotage/" not in text
    assert "Activité du réseau" not in text


# --- In a real browser --------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_regional_admin_picks_last_month_with_the_keyboard_and_downloads_the_xlsx(
    page, live_server, tmp_path, hospital, clinic
) -> None:
    admin = UserFactory(email="claire.pilotage@ars.test", first_name="Claire", last_name="Martin")
    user_grant_group_role(user=admin, role=Role.REGIONAL_ADMIN)
    secret = enrol_totp(admin)
    nancy = EstablishmentFactory(name="CHRU de Nancy")
    this_month = period_parse(period_presets(today=timezone.localdate())[0][0])
    last_month = comparison_period(this_month)
    # Every day of last month: Nancy 3 studies a day + the weekday, Metz 2 + it, the clinic 1.
    for when in last_month.each_day():
        extra = when.weekday()
        counts = {nancy: 3 + extra, hospital: 2 + extra, clinic: 1}
        for place, count in counts.items():
            roll(when, place, studies_produced=count, members_by_offer={"sharing": 1})
        roll(
            when,
            studies_produced=sum(counts.values()),
            outside_accesses=extra,
            members_by_offer={"sharing": 3},
        )
    RollupState.objects.create(pk=1, complete_until=timezone.localdate() - datetime.timedelta(1))

    sign_in(page, email=admin.email, password=PASSWORD, totp_secret=secret)
    page.get_by_role("link", name="Tableaux de bord", exact=True).click()
    page.wait_for_selector("h1:has-text('Pilotage régional')")
    assert this_month.label in page.locator("h1").inner_text()

    # The picker with the keyboard alone: the next preset is last month, then "Afficher".
    page.focus("#id_periode")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Afficher"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/pilotage/?periode={last_month.code}")
    assert last_month.label in page.locator("h1").inner_text()

    chart = page.locator("svg[role=img]").first
    assert chart.is_visible()
    assert chart.locator("title").text_content() == f"Examens produits, {last_month.label}"
    shares = page.locator("#tableau-etablissements tbody tr")
    assert shares.count() == 3
    assert shares.nth(0).locator("th").inner_text() == "CHRU de Nancy"
    screenshot(page, "reporting-dashboard-region")

    caption = f"Chiffres de chaque établissement, {last_month.label}"
    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"XLSX – {caption}").click()
    download = download_info.value
    assert download.suggested_filename == f"pilotage-{last_month.code}-etablissements.xlsx"
    path = tmp_path / "etablissements.xlsx"
    download.save_as(path)
    sheet = load_workbook(path).active
    days = last_month.days
    studies = sum(3 + d.weekday() for d in last_month.each_day())
    assert [sheet.cell(row=2, column=n).value for n in (1, 2)] == ["CHRU de Nancy", studies]
    assert sheet.cell(row=4, column=2).value == days  # the clinic, one a day
