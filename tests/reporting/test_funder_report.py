"""The funder report: the command's PDF read back with pdftotext (the hand-counted 2026-Q3 of
``test_indicators``), its record (SHA-256, parameters, files never overwritten), the errors of
the command, the report pages and download (regional administrators only, denied twins), the
progress bar, and the task once through a real worker."""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from reporting.management.commands.funder_report import Command
from reporting.models import FunderReport, Indicator
from reporting.periods import period_parse
from reporting.services import funder_report_create, funder_report_generate, funder_report_request
from tests.reporting import test_indicators

pytestmark = pytest.mark.django_db

# The hand-counted quarter and its indicators, shared with the indicator tests.
network = test_indicators.network
quarter = test_indicators.quarter
indicators = test_indicators.indicators

Q3 = period_parse("2026-Q3")


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path) -> Path:
    """Generated reports go to a throwaway folder, never to the checkout's var/private."""
    folder = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": folder, "base_url": None},
        },
    }
    return folder


def pdf_layout(path: Path) -> str:
    """What a reader sees, columns kept (poppler's ``pdftotext -layout``), spaces folded."""
    text = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return re.sub(r"[ \t\u00a0\u202f]+", " ", text)


def prose(text: str) -> str:
    """Text with every run of whitespace (line breaks included) as one space."""
    return " ".join(text.split())


def visible(html: str) -> str:
    """What a page fragment says, tags removed."""
    return prose(re.sub(r"<[^>]+>", " ", html))


def line_of(text: str, start: str) -> str:
    """The first line of ``text`` that begins with ``start`` (an indicator's row)."""
    return next(line.strip() for line in text.splitlines() if line.strip().startswith(start))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def written(quarter, indicators, tmp_path) -> tuple[Path, str]:
    output = tmp_path / "rapport.pdf"
    call_command("funder_report", "--period", "2026-Q3", "--output", str(output))
    return output, pdf_layout(output)


# --- The document ------------------------------------------------------------------------------


def test_the_pdf_has_a_cover_a_summary_and_page_numbers(written) -> None:
    _, text = written
    pages = text.split("\f")
    cover = pages[0]
    assert "Rapport aux financeurs" in cover
    assert "Réseau régional de partage d'imagerie" in cover
    assert "FEDER 2021-2027" in cover
    assert "3e trimestre 2026 – du 01/07/2026 au 30/09/2026" in cover
    assert "Document produit le".upper() in cover
    total = len([page for page in pages if page.strip()])
    assert f"Page 1 / {total}" in cover
    assert f"Page {total} / {total}" in text
    # The summary, beside the previous period (40 studies on 10/06, 5 outside accesses).
    text = prose(text)
    assert "ont produit 50 examens d'imagerie (40 à la période précédente, soit +25,0 %)" in text
    assert "consultés 10 fois (5 à la période précédente, soit +100,0 %)" in text
    assert "1 accès d'urgence (bris de glace) a été ouvert" in text
    assert "14 professionnels étaient habilités" in text
    assert "8 à l'hôpital, 6 en ville" in text


def test_the_pdf_shows_each_indicator_against_baseline_milestone_and_target(written) -> None:
    _, text = written
    # Code, label, baseline, milestone due, target, value, progress, trajectory (the label's
    # first words share the row; the rest wraps below).
    rows = {code: line_of(text, f"{code} ") for code in ("RCO14", "RCR11", "PART", "BUDGET")}
    assert rows["RCO14"].startswith("RCO14 Institutions publiques")
    assert rows["RCO14"].endswith(" 0 2 10 3 30 % en bonne")
    assert rows["RCR11"].endswith(" 0 20 500 4 0,8 % en retard")
    assert rows["PART"].endswith(" 10 — 40 25 50 % pas de jalon")
    assert rows["BUDGET"].endswith(" 0 — 600 000 130 000 21,7 % pas de jalon")
    assert "prévu : 150 000" in text
    assert "50 examens du réseau sur 200" in prose(text)
    assert "ANCIEN" not in text  # no longer followed


def test_the_pdf_lists_establishments_members_and_offers(written) -> None:
    _, text = written
    assert re.search(r"CHRU de Nancy 36 72,0 % 9 7 3 2 1 5", text)
    assert re.search(r"Institut de 14 28,0 % 3 3 2 1 0 3", text)
    assert "contresigné est en vigueur le 30/09/2026" in text
    assert re.search(r"CHR Metz-Thionville \d{9} Metz Archivage", text)
    assert re.search(r"CHRU de Nancy \d{9} Nancy PACS, Partage d'images", text)
    # The charts' texts, drawn as SVG.
    assert "Examens produits par les établissements, un point par semaine" in text
    # 1 July 2026 is a Wednesday, 30 September too: both edge weeks are cut, and said so.
    assert "29/06*" in text
    assert "28/09*" in text
    assert "06/07*" not in text
    assert "* : semaine incomplète, coupée par le début ou la fin de la période" in prose(text)
    assert "72,0 %" in text


def test_the_pdf_explains_its_methods(written) -> None:
    _, text = written
    notes = prose(text[text.index("Notes de méthode") :])
    assert "Examens partagés (stock)" in notes
    assert "aucune opposition" in notes
    assert "Professionnels ayant consulté (ensemble)" in notes
    assert "volume régional total d'examens saisi pour la même période" in notes
    assert "Établissements signataires d'un bon de commande en vigueur." in notes  # RCO14's own
    assert "Montant arrêté après rapprochement des factures du trimestre." in notes
    assert "Première estimation" not in notes  # replaced by the later entry


def test_the_pdf_is_pdf_a_3b(written) -> None:
    output, _ = written
    meta = subprocess.run(
        ["pdfinfo", "-meta", str(output)], check=True, capture_output=True, text=True
    ).stdout
    assert 'pdfaid:part="3" pdfaid:conformance="B"' in meta


def test_the_command_takes_a_subset_of_indicators(quarter, indicators, tmp_path) -> None:
    output = tmp_path / "sous-ensemble.pdf"
    call_command(
        "funder_report", "--period", "2026-Q3", "--output", str(output), "--indicators", "rco14"
    )
    text = pdf_layout(output)
    assert "RCO14" in text
    assert "RCR11" not in text
    assert FunderReport.objects.get().parameters["indicators"] == ["RCO14"]


# --- The record --------------------------------------------------------------------------------


def test_the_stored_report_carries_the_files_sha256_and_its_parameters(written) -> None:
    output, _ = written
    report = FunderReport.objects.get()
    stored = Path(report.file.path)
    assert report.status == FunderReport.Status.DONE
    assert report.sha256 == sha256_of(stored) == sha256_of(output)
    assert report.size == stored.stat().st_size
    assert report.file.name.startswith("reports/funder/rapport-financeur-2026-q3-")
    parameters = report.parameters
    assert parameters["period"] == "2026-Q3"
    assert parameters["indicators"] == ["RCO14", "RCR11", "PART", "BUDGET"]
    assert parameters["generated_at"].startswith("20")
    assert "rollups_complete_until" in parameters
    assert report.requested_by is None


def test_rendering_twice_gives_two_records_and_two_files(quarter, indicators) -> None:
    first = funder_report_create(period=Q3)
    first_sha = sha256_of(Path(first.file.path))
    second = funder_report_create(period=Q3)
    assert FunderReport.objects.count() == 2
    assert first.file.name != second.file.name
    assert Path(first.file.path).exists()
    assert Path(second.file.path).exists()
    assert sha256_of(Path(first.file.path)) == first_sha == first.sha256  # not overwritten
    assert second.sha256 == sha256_of(Path(second.file.path))


def test_a_replayed_generation_changes_nothing(quarter, indicators) -> None:
    report = funder_report_create(period=Q3)
    again = funder_report_generate(report_id=report.pk)
    assert (again.file.name, again.sha256) == (report.file.name, report.sha256)


# --- The command's errors ----------------------------------------------------------------------


def test_a_bad_period_is_a_one_line_french_error(indicators, tmp_path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("funder_report", "--period", "2026-Q5", "--output", str(tmp_path / "x.pdf"))
    message = str(caught.value)
    assert message.startswith("Période « 2026-Q5 » non reconnue")
    assert "\n" not in message
    assert not FunderReport.objects.exists()


def test_an_unknown_indicator_is_named(indicators, tmp_path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command(
            "funder_report",
            "--period",
            "2026-Q3",
            "--output",
            str(tmp_path / "x.pdf"),
            "--indicators",
            "RCO14,RCO99",
        )
    assert str(caught.value) == "Indicateur inconnu : RCO99."
    assert not FunderReport.objects.exists()
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--period", "2026-13"], "Date impossible dans la période « 2026-13 »."),
        (["--period", "2026-Q3", "--indicators", "NOPE"], "Indicateur inconnu : NOPE."),
    ],
)
def test_the_command_exits_non_zero_with_one_line(
    indicators, tmp_path, capsys, arguments, message
) -> None:
    output = tmp_path / "x.pdf"
    with pytest.raises(SystemExit) as caught:
        Command().run_from_argv(["manage.py", "funder_report", "--output", str(output), *arguments])
    assert caught.value.code == 1
    assert capsys.readouterr().err.strip() == f"CommandError: {message}"
    assert not output.exists()


def test_a_missing_output_folder_is_refused_before_rendering(indicators, tmp_path) -> None:
    with pytest.raises(CommandError, match="n'existe pas"):
        call_command(
            "funder_report", "--period", "2026-Q3", "--output", str(tmp_path / "no" / "x.pdf")
        )
    assert not FunderReport.objects.exists()


# --- Pages -------------------------------------------------------------------------------------


def test_a_regional_admin_asks_for_a_report_and_downloads_it(
    client_for, regional_admin, quarter, indicators, django_capture_on_commit_callbacks
) -> None:
    client = client_for(regional_admin)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            "/pilotage/rapports/", {"period": "2026-Q3", "indicators": ["RCO14", "BUDGET"]}
        )
    assert len(callbacks) == 1  # the task, queued once the request's transaction committed
    report = FunderReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/pilotage/rapports/{report.pk}/"
    report.refresh_from_db()
    assert report.status == FunderReport.Status.DONE
    assert report.requested_by == regional_admin
    assert report.parameters["indicators"] == ["RCO14", "BUDGET"]
    page = client.get("/pilotage/rapports/").content.decode()
    assert report.sha256 in page
    assert "Alice Admin" in page
    assert f'href="/pilotage/rapports/{report.pk}/telecharger/"' in page
    download = client.get(f"/pilotage/rapports/{report.pk}/telecharger/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    body = b"".join(download.streaming_content)
    assert hashlib.sha256(body).hexdigest() == report.sha256


def test_the_request_form_refuses_a_bad_period_in_french(
    client_for, regional_admin, indicators, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(regional_admin).post("/pilotage/rapports/", {"period": "T3 2026"})
    assert response.status_code == 400
    assert "Période « T3 2026 » non reconnue" in response.content.decode()
    assert not FunderReport.objects.exists()
    assert callbacks == []


def test_the_report_list_costs_a_fixed_number_of_queries(
    client_for, regional_admin, quarter, indicators, django_assert_num_queries
) -> None:
    for _ in range(3):
        funder_report_create(period=Q3, requested_by=regional_admin)
    client = client_for(regional_admin)
    # Signing in, the roles and the session: 9; the indicators and their milestones, the
    # reports with who asked for them: 3, whatever their number.
    with django_assert_num_queries(12):
        response = client.get("/pilotage/rapports/")
    assert response.content.decode().count("/telecharger/") == 3


@pytest.fixture
def done_report(quarter, indicators, regional_admin) -> FunderReport:
    return funder_report_create(period=Q3, requested_by=regional_admin)


@pytest.mark.parametrize("role", ["director", "referent", "practitioner", "auditor", "patient"])
def test_other_roles_may_not_see_reports_nor_download_them(
    request, client_for, role, done_report
) -> None:
    client = client_for(request.getfixturevalue(role))
    pk = done_report.pk
    for url in (
        "/pilotage/rapports/",
        f"/pilotage/rapports/{pk}/",
        f"/pilotage/rapports/{pk}/avancement/",
        f"/pilotage/rapports/{pk}/telecharger/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post("/pilotage/rapports/", {"period": "2026-Q3"}).status_code == 403
    assert FunderReport.objects.count() == 1


def test_anonymous_visitors_cannot_download(client, done_report) -> None:
    response = client.get(f"/pilotage/rapports/{done_report.pk}/telecharger/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_report_without_a_file_is_not_found(client_for, regional_admin, done_report) -> None:
    client = client_for(regional_admin)
    assert client.get(f"/pilotage/rapports/{done_report.pk}/telecharger/").status_code == 200
    queued = FunderReport.objects.create(period="2026-Q4", period_start=Q3.start, period_end=Q3.end)
    assert client.get(f"/pilotage/rapports/{queued.pk}/telecharger/").status_code == 404
    assert client.get("/pilotage/rapports/999999/telecharger/").status_code == 404
    assert client.get("/pilotage/rapports/999999/").status_code == 404


def test_the_home_page_offers_funder_reports_to_regional_admins(
    client_for, regional_admin, done_report
) -> None:
    page = client_for(regional_admin).get("/").content.decode()
    nav = page.split('aria-label="Navigation principale"')[1].split("</nav>")[0]
    assert 'href="/pilotage/rapports/"' in nav
    assert "Rapports financeurs" in nav
    assert "Dernier rapport : 2026-Q3" in page


def test_the_home_page_of_a_director_has_no_funder_reports(client_for, director) -> None:
    page = client_for(director).get("/").content.decode()
    assert "/pilotage/rapports/" not in page
    assert "Rapports financeurs" not in page


# --- Progress ----------------------------------------------------------------------------------


def test_the_progress_bar_polls_while_the_report_is_being_made(
    client_for, regional_admin, indicators
) -> None:
    report = FunderReport.objects.create(
        period="2026-Q3",
        period_start=Q3.start,
        period_end=Q3.end,
        status=FunderReport.Status.RUNNING,
        progress=40,
        progress_label="Graphiques",
    )
    client = client_for(regional_admin)
    detail = client.get(f"/pilotage/rapports/{report.pk}/").content.decode()
    assert f'hx-get="/pilotage/rapports/{report.pk}/avancement/"' in detail
    fragment = client.get(f"/pilotage/rapports/{report.pk}/avancement/").content.decode()
    assert '<progress max="100" value="40"' in fragment
    assert "En cours – Graphiques" in visible(fragment)
    assert 'hx-trigger="every 1s"' in fragment
    assert "<html" not in fragment


def test_the_progress_bar_stops_on_a_finished_report(client_for, regional_admin, done_report):
    fragment = (
        client_for(regional_admin)
        .get(f"/pilotage/rapports/{done_report.pk}/avancement/")
        .content.decode()
    )
    assert "hx-get" not in fragment
    assert "Prêt – Terminé" in visible(fragment)
    assert f'href="/pilotage/rapports/{done_report.pk}/telecharger/"' in fragment


def test_a_failed_report_says_why_in_french(client_for, regional_admin, quarter, indicators):
    report = funder_report_request(period=Q3, codes=["RCO14"], requested_by=regional_admin)
    Indicator.objects.filter(code="RCO14").delete()  # removed before the worker got to it
    funder_report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == FunderReport.Status.FAILED
    assert report.error == "Indicateur inconnu : RCO14."
    assert not report.file
    fragment = (
        client_for(regional_admin)
        .get(f"/pilotage/rapports/{report.pk}/avancement/")
        .content.decode()
    )
    assert "Indicateur inconnu : RCO14." in fragment
    assert "hx-get" not in fragment


# --- Through a real worker ---------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_generates_the_report(
    request, monkeypatch, settings, private_files, quarter, indicators, regional_admin
) -> None:
    db = connection.settings_dict
    monkeypatch.setenv(
        "DATABASE_URL",
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
    )
    monkeypatch.setenv("PRIVATE_STORAGE_ROOT", str(private_files))
    request.getfixturevalue("celery_worker")
    from portal.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        report = funder_report_request(period=Q3, requested_by=regional_admin)
        deadline = time.monotonic() + 60
        while report.status not in (FunderReport.Status.DONE, FunderReport.Status.FAILED):
            assert time.monotonic() < deadline, report.progress_label
            time.sleep(0.2)
            report.refresh_from_db()
    finally:
        app.conf.task_always_eager = True
    assert report.status == FunderReport.Status.DONE, report.error
    assert report.progress == 100
    assert report.sha256 == sha256_of(private_files / report.file.name)
    assert "RCO14" in pdf_layout(private_files / report.file.name)
