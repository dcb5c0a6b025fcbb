"""``manage.py import_finess``: the FINESS reference import (JSON data.gouv and CSV etalab).

The files under data/ are small extracts written for these tests: their numbers pass the
FINESS key but, apart from 540002698 (CHRU de Nancy, Brabois) and the Saint-Martin hospital
(970100400 / 970100186), they are illustrative. The real national sample lives in the shared
data folder.
"""

from __future__ import annotations

import datetime
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from establishments.finess import department_of, finess_import
from establishments.models import FinessEntry

pytestmark = pytest.mark.django_db

SAMPLE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "sample-finess-structures-journalier-20260309.json"
)
DATA = Path(__file__).resolve().parent / "data"
EXTRACT = DATA / "finess-journalier-extrait.json"
ETALAB_CSV = DATA / "etalab-structureet.csv"
HEADER_CSV = DATA / "finess-en-tete.csv"
PROJECT_ROOT = Path(__file__).resolve().parents[2]

BRABOIS_NAME = "CENTRE HOSPITALIER RÉGIONAL UNIVERSITAIRE DE NANCY - HÔPITAUX DE BRABOIS"

needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason="échantillon FINESS réel absent")

TEXT_FIELDS = [
    field.name
    for field in FinessEntry._meta.get_fields()
    if field.get_internal_type() == "CharField"
]


def run_import(path: Path | str, *args: str) -> str:
    out = io.StringIO()
    call_command("import_finess", str(path), *args, stdout=out, stderr=out)
    return out.getvalue()


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def entries() -> dict[str, FinessEntry]:
    return {entry.finess: entry for entry in FinessEntry.objects.all()}


def local_date(moment: datetime.datetime | None) -> datetime.date | None:
    return None if moment is None else timezone.localtime(moment).date()


# The real sample of the national daily extract


@needs_sample
def test_it_loads_every_entry_of_the_real_sample(django_assert_max_num_queries) -> None:
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    expected: dict[str, tuple[str, str, str]] = {}
    for legal_entity in sample["pmej"]:
        finess_ej = legal_entity["informationsGeneralesPMEJ"]["numFinessPm"].strip()
        expected[finess_ej] = ("ej", finess_ej, legal_entity["etatObjet"])
        for site in legal_entity["ege"]:
            finess = site["informationsGeneralesEGE"]["numFinessEge"].strip()
            expected[finess] = ("eg", finess_ej, site["etatObjet"])
    assert len(expected) == 50

    # One lookup and one insert for the whole file, whatever its size: no query per row.
    with django_assert_max_num_queries(4):
        report = finess_import(path=SAMPLE)

    assert (report.created, report.updated, report.unchanged) == (50, 0, 0)
    assert report.rejected == []
    loaded = entries()
    assert set(loaded) == set(expected)
    for finess, (level, finess_ej, state) in expected.items():
        entry = loaded[finess]
        assert (entry.level, entry.finess_ej) == (level, finess_ej), finess
        assert entry.is_closed == (state == "I"), finess
    assert sum(1 for entry in loaded.values() if entry.level == "ej") == 23
    assert sum(1 for entry in loaded.values() if entry.is_closed) == 26


@needs_sample
def test_it_reads_the_fields_of_the_real_sample() -> None:
    finess_import(path=SAMPLE)
    loaded = entries()

    site = loaded["010780195"]
    assert site.level == FinessEntry.Level.SITE
    assert site.finess_ej == "010000156"
    assert site.legal_entity_name == "CLINIQUE CONVERT"
    assert site.name == "CLINIQUE DOCTEUR CONVERT"
    assert site.short_name == "CLINIQUE CONVERT"
    assert (site.siret, site.siren) == ("77220148900022", "772201489")
    assert site.category_code == "365"
    assert site.address == "62 AVENUE DE JASSERON, BP 132"
    assert (site.postal_code, site.city, site.department) == ("01000", "BOURG EN BRESSE", "01")
    assert site.phone == "0428631234"
    assert site.opened_on == datetime.date(1956, 11, 16)
    assert site.closed_on is None
    assert local_date(site.source_updated_at) == datetime.date(2021, 10, 18)

    legal_entity = loaded["010000156"]
    assert legal_entity.level == FinessEntry.Level.LEGAL_ENTITY
    assert legal_entity.finess_ej == "010000156"
    assert legal_entity.siren == "772201489"

    wallis = loaded["980600027"]
    assert wallis.department == "986"
    assert wallis.finess_ej == "980600019"
    assert wallis.legal_entity_name == "AGENCE DE SANTE DE WALLIS ET FUTUNA"


@needs_sample
def test_it_strips_the_trailing_spaces_of_the_real_sample() -> None:
    finess_import(path=SAMPLE)
    loaded = entries()

    polyclinic = loaded["010000164"]
    assert polyclinic.short_name == "POLYCLINIQUE D'AMBERIEU"
    assert polyclinic.name == "POLYCLINIQUE D'AMBERIEU EN BUGEY"
    assert loaded["010787190"].legal_entity_name == "POLYCLINIQUE D'AMBERIEU EN BUGEY"
    assert loaded["010787190"].address == "17 RUE AIME VINGTRINIER"
    for entry in loaded.values():
        for name in TEXT_FIELDS:
            value = getattr(entry, name)
            assert value == " ".join(value.split()), (entry.finess, name, value)


@needs_sample
def test_it_keeps_the_closed_entries_of_the_real_sample_with_their_closing_date() -> None:
    finess_import(path=SAMPLE)
    loaded = entries()

    assert loaded["010000016"].closed_on == datetime.date(2019, 3, 3)
    assert loaded["010787190"].closed_on == datetime.date(1993, 1, 1)
    # Closed ("I") without a dateFermeture: the date of its last update stands in.
    assert loaded["010000339"].closed_on == datetime.date(2026, 3, 2)
    # Its establishments are still open.
    assert loaded["010780906"].closed_on is None


@needs_sample
def test_it_changes_nothing_when_the_same_file_is_imported_again(
    django_assert_max_num_queries,
) -> None:
    finess_import(path=SAMPLE)
    stamps = dict(FinessEntry.objects.values_list("finess", "imported_at"))

    with django_assert_max_num_queries(3):
        report = finess_import(path=SAMPLE)

    assert (report.created, report.updated, report.unchanged) == (0, 0, 50)
    assert dict(FinessEntry.objects.values_list("finess", "imported_at")) == stamps


# JSON extracts


def test_it_updates_only_the_entries_that_changed(tmp_path: Path) -> None:
    finess_import(path=EXTRACT)
    stamps = dict(FinessEntry.objects.values_list("finess", "imported_at"))
    data = json.loads(EXTRACT.read_text(encoding="utf-8"))
    renamed = data["pmej"][0]["ege"][0]
    renamed["informationsGeneralesEGE"]["nomEgeLong"] = "CHR METZ-THIONVILLE - MERCY  "
    closing = data["pmej"][1]["ege"][0]
    closing["etatObjet"] = "I"
    closing["informationsGeneralesEGE"]["dateFermeture"] = "2026-01-31"

    report = finess_import(path=write_json(tmp_path / "modifie.json", data))

    assert (report.created, report.updated, report.unchanged) == (0, 2, 3)
    loaded = entries()
    assert loaded["570000018"].name == "CHR METZ-THIONVILLE - MERCY"
    assert loaded["880000013"].closed_on == datetime.date(2026, 1, 31)
    assert loaded["570000018"].imported_at > stamps["570000018"]
    assert loaded["570000026"].imported_at == stamps["570000026"]

    again = finess_import(path=tmp_path / "modifie.json")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)


def test_it_links_sites_to_their_legal_entity_and_dates_closures() -> None:
    output = run_import(EXTRACT)

    assert "Import FINESS (JSON data.gouv) : 5 créée(s), 0 mise(s) à jour" in output
    loaded = entries()
    legal_entity = loaded["570000026"]
    assert legal_entity.name == "CENTRE HOSPITALIER REGIONAL METZ-THIONVILLE"
    assert legal_entity.short_name == "CHR METZ-THIONVILLE"
    assert legal_entity.address == "1 ALLEE DU CHATEAU, CS 45001"
    assert (legal_entity.postal_code, legal_entity.city) == ("57085", "METZ")
    site = loaded["570000018"]
    assert (site.level, site.finess_ej) == ("eg", "570000026")
    assert site.legal_entity_name == "CENTRE HOSPITALIER REGIONAL METZ-THIONVILLE"
    assert site.department == "57"
    assert loaded["570000034"].closed_on == datetime.date(2021, 6, 30)
    assert loaded["880000021"].closed_on == datetime.date(2024, 2, 5)
    assert loaded["880000013"].closed_on is None


def test_it_reads_the_older_informations_generales_pmej_spelling(tmp_path: Path) -> None:
    data = json.loads(EXTRACT.read_text(encoding="utf-8"))
    for legal_entity in data["pmej"]:
        legal_entity["informationsGeneralesPmej"] = legal_entity.pop("informationsGeneralesPMEJ")

    report = finess_import(path=write_json(tmp_path / "ancien.json", data))

    assert (report.created, report.rejected) == (5, [])
    legal_entity = FinessEntry.objects.get(finess="880000021")
    assert legal_entity.level == FinessEntry.Level.LEGAL_ENTITY
    assert legal_entity.name == "CENTRE HOSPITALIER DE REMIREMONT"
    assert FinessEntry.objects.get(finess="880000013").finess_ej == "880000021"


def test_it_reports_a_json_entry_with_a_bad_finess_by_its_index_path(tmp_path: Path) -> None:
    data = json.loads(EXTRACT.read_text(encoding="utf-8"))
    data["pmej"][0]["ege"][1]["informationsGeneralesEGE"]["numFinessEge"] = "570000035"

    output = run_import(write_json(tmp_path / "cle.json", data))

    assert (
        "pmej[0].ege[1] : La clé du numéro FINESS est incorrecte. (valeur lue : « 570000035 »)"
        in output.splitlines()
    )
    assert set(entries()) == {"570000026", "570000018", "880000021", "880000013"}


# CSV extracts


def test_it_loads_the_etalab_csv_with_its_structureet_lines() -> None:
    output = run_import(ETALAB_CSV)

    assert "Import FINESS (CSV etalab) : 4 créée(s)" in output
    loaded = entries()
    assert set(loaded) == {"540002698", "570000018", "2A0000147", "970100400"}
    brabois = loaded["540002698"]
    assert brabois.level == FinessEntry.Level.SITE
    assert brabois.finess_ej == "540023264"
    assert (
        brabois.name == "CENTRE HOSPITALIER RÉGIONAL UNIVERSITAIRE DE NANCY - HÔPITAUX DE BRABOIS"
    )
    assert brabois.short_name == "CHRU NANCY BRABOIS"
    assert (brabois.category_code, brabois.category_label) == (
        "101",
        "Centre Hospitalier Régional (C.H.R.)",
    )
    assert (brabois.siret, brabois.siren) == ("26540001000012", "265400010")
    assert brabois.address == "5 R DU MORVAN"
    assert (brabois.postal_code, brabois.city, brabois.department) == (
        "54500",
        "VANDOEUVRE LES NANCY",
        "54",
    )
    assert brabois.opened_on == datetime.date(1973, 1, 1)
    assert local_date(brabois.source_updated_at) == datetime.date(2025, 11, 4)
    assert brabois.closed_on is None
    mercy = loaded["570000018"]
    assert mercy.address == "1 ALL DU CHÂTEAU, CS 45001"
    assert (mercy.postal_code, mercy.city) == ("57085", "METZ")
    assert loaded["2A0000147"].department == "2A"
    assert loaded["970100400"].department == "971"
    assert loaded["970100400"].address == "BP 381"


def test_it_loads_an_etalab_csv_without_its_metadata_line(tmp_path: Path) -> None:
    lines = ETALAB_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "sans-entete.csv"
    path.write_text("".join(lines[1:]), encoding="utf-8")

    report = finess_import(path=path)

    assert (report.created, report.rejected) == (4, [])


def test_it_loads_a_comma_separated_csv_with_a_header_line() -> None:
    report = finess_import(path=HEADER_CSV)

    assert (report.shape, report.created, report.rejected) == ("CSV", 2, [])
    pasteur = FinessEntry.objects.get(finess="540000601")
    assert pasteur.name == "CLINIQUE LOUIS PASTEUR, ESSEY-LES-NANCY"
    assert pasteur.finess_ej == "540000619"
    assert pasteur.phone == "0383188000"
    assert (pasteur.postal_code, pasteur.city, pasteur.department) == (
        "54270",
        "ESSEY LES NANCY",
        "54",
    )
    remiremont = FinessEntry.objects.get(finess="880000013")
    assert (remiremont.siret, remiremont.siren) == ("", "")
    assert remiremont.category_label == "Centre Hospitalier (C.H.)"


def test_it_reads_a_latin1_csv_with_its_accents(tmp_path: Path) -> None:
    path = tmp_path / "etalab-latin1.csv"
    path.write_bytes(ETALAB_CSV.read_text(encoding="utf-8").encode("latin-1"))

    report = finess_import(path=path)

    assert report.created == 4
    brabois = FinessEntry.objects.get(finess="540002698")
    assert (
        brabois.name == "CENTRE HOSPITALIER RÉGIONAL UNIVERSITAIRE DE NANCY - HÔPITAUX DE BRABOIS"
    )
    assert brabois.category_label == "Centre Hospitalier Régional (C.H.R.)"
    assert FinessEntry.objects.get(finess="2A0000147").address == "27 AV IMPÉRATRICE EUGÉNIE"


def test_it_closes_the_sites_a_csv_gives_a_closing_date(tmp_path: Path) -> None:
    path = tmp_path / "fermetures.csv"
    path.write_text(
        "nofinesset;rs;datemaj;datefermeture\n"
        "540000601;CLINIQUE FERMEE;2021-01-04;31/12/2020\n"
        "540000619;CLINIQUE OUVERTE;2025-01-10;\n"
        "540000627;CLINIQUE A LA DATE ILLISIBLE;2022-03-01;fin 2021\n",
        encoding="utf-8",
    )

    report = finess_import(path=path)

    assert report.created == 3
    assert [str(issue) for issue in report.warnings] == [
        "ligne 4 : Date « fin 2021 » ignorée (fermé le) : format attendu AAAA-MM-JJ."
    ]
    loaded = entries()
    assert loaded["540000601"].closed_on == datetime.date(2020, 12, 31)
    assert loaded["540000619"].closed_on is None
    # Closed, but its closing date cannot be read: the date of its last update stands in.
    assert loaded["540000627"].closed_on == datetime.date(2022, 3, 1)


def test_it_keeps_what_a_csv_does_not_carry_when_it_updates_an_entry() -> None:
    finess_import(path=EXTRACT)

    report = finess_import(path=ETALAB_CSV)

    assert (report.created, report.updated) == (3, 1)
    mercy = FinessEntry.objects.get(finess="570000018")
    # The etalab file has no legal entity name: the one read from the JSON extract stays.
    assert mercy.legal_entity_name == "CENTRE HOSPITALIER REGIONAL METZ-THIONVILLE"
    assert mercy.category_label == "Centre Hospitalier Régional (C.H.R.)"
    assert mercy.name == "CHR METZ-THIONVILLE - HÔPITAL DE MERCY"


# Rejected rows and warnings

BAD_ROWS_CSV = (
    "nofinesset;rs;ligneacheminement;siret\n"
    "540000601;CLINIQUE A;54270 ESSEY LES NANCY;\n"
    "540000602;CLINIQUE B;54000 NANCY;\n"
    ";CLINIQUE SANS NUMERO;54000 NANCY;\n"
    "540000619;CLINIQUE C;54000 NANCY;12345678901234\n"
    "540000601;CLINIQUE A EN DOUBLE;54000 NANCY;\n"
)


def test_it_reports_rejected_rows_with_their_line_and_imports_the_others(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rejets.csv"
    path.write_text(BAD_ROWS_CSV, encoding="utf-8")

    output = run_import(path)

    lines = output.splitlines()
    assert lines[0] == (
        "Import FINESS (CSV) : 2 créée(s), 0 mise(s) à jour, 0 inchangée(s), 3 rejetée(s)."
    )
    assert "ligne 3 : La clé du numéro FINESS est incorrecte. (valeur lue : « 540000602 »)" in lines
    assert "ligne 4 : Le numéro FINESS est obligatoire." in lines
    duplicate = "Le numéro FINESS 540000601 figure déjà plus haut dans le fichier (ligne 2)."
    assert f"ligne 6 : {duplicate}" in lines
    assert (
        "ligne 5 : SIRET « 12345678901234 » ignoré : La clé du numéro SIRET est incorrecte."
        in lines
    )
    loaded = entries()
    assert set(loaded) == {"540000601", "540000619"}
    assert loaded["540000601"].name == "CLINIQUE A"
    assert loaded["540000619"].siret == ""


def test_it_rejects_an_incomplete_etalab_line(tmp_path: Path) -> None:
    lines = ETALAB_CSV.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:60]
    path = tmp_path / "coupe.csv"
    path.write_text("\n".join(lines), encoding="utf-8")

    report = finess_import(path=path)

    assert report.created == 3
    assert [str(issue) for issue in report.rejected] == [
        "ligne 3 : Ligne incomplète : 5 colonnes lues, au moins 31 attendues."
    ]


def test_it_imports_nothing_in_strict_mode_when_a_row_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rejets.csv"
    path.write_text(BAD_ROWS_CSV, encoding="utf-8")

    with pytest.raises(CommandError, match="3 ligne"):
        run_import(path, "--strict")

    assert FinessEntry.objects.count() == 0


def test_it_accepts_a_clean_file_in_strict_mode() -> None:
    output = run_import(HEADER_CSV, "--strict")

    assert "2 créée(s)" in output
    assert FinessEntry.objects.count() == 2


# Files that cannot be imported

TRUNCATED_JSON = EXTRACT.read_text(encoding="utf-8")[:1500]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tronque.json", TRUNCATED_JSON, "JSON illisible"),
        ("liste.json", "[1, 2, 3]", "« pmej » absente"),
        ("autre.json", '{"schemaVersion": "v1.0.0"}', "« pmej » absente"),
        ("vide.json", '{"pmej": []}', "Aucune entrée FINESS"),
        ("colonnes.csv", "nom;adresse\nCLINIQUE;1 rue de la Paix\n", "Colonnes non reconnues"),
        ("sans-rs.csv", "nofinesset;adresse\n540000601;1 rue\n", "« rs »"),
        ("entete-seule.csv", "nofinesset;rs\n", "Aucune entrée FINESS"),
        ("meta-seule.csv", "finess;etalab;111;2026-03-09\n", "Aucune entrée FINESS"),
        ("vide.csv", "", "est vide"),
        ("blanc.csv", "\n   \n", "est vide"),
    ],
)
def test_it_refuses_a_malformed_file_and_writes_nothing(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    with pytest.raises(CommandError, match=message):
        run_import(path)

    assert FinessEntry.objects.count() == 0


def test_it_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Fichier introuvable"):
        run_import(tmp_path / "absent.json")

    assert FinessEntry.objects.count() == 0


def test_it_exits_non_zero_with_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "tronque.json"
    path.write_text(TRUNCATED_JSON, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "manage.py", "import_finess", "--skip-checks", str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert result.stdout == ""
    error_lines = result.stderr.strip().splitlines()
    assert len(error_lines) == 1
    assert "JSON illisible" in error_lines[0]


# Departments


@pytest.mark.parametrize(
    ("cog_commune", "declared", "postal_code", "department"),
    [
        ("01143", "", "01220", "01"),
        ("98613", "", "98600", "986"),
        ("2B033", "", "20200", "2B"),
        ("", "57", "57085", "57"),
        ("", "9A", "97150", "971"),
        ("", "", "20000", "2A"),
        ("", "", "20167", "2A"),
        ("", "", "20200", "2B"),
        ("", "", "20600", "2B"),
        ("", "", "97400", "974"),
        ("", "", "54000", "54"),
        ("", "", "", ""),
    ],
)
def test_it_derives_the_department(
    cog_commune: str, declared: str, postal_code: str, department: str
) -> None:
    assert (
        department_of(cog_commune=cog_commune, declared=declared, postal_code=postal_code)
        == department
    )
