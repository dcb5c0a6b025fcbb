"""``import_practitioners FILE`` loads the reference extract idempotently, reports every rejected
line, and writes nothing from a malformed file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from practitioners.models import PractitionerReference
from tests.factories import with_luhn

pytestmark = pytest.mark.django_db

RPPS_1 = with_luhn("1000000191")
RPPS_2 = with_luhn("1000000292")
# Luhn fails on this one: accepted with a note (DOMAIN.md: never reject on Luhn).
RPPS_BAD_LUHN = RPPS_1[:-1] + str((int(RPPS_1[-1]) + 1) % 10)

# The public "Annuaire Santé" extraction: "|"-separated, one row per activity.
PS_LIBRE_ACCES_HEADER = (
    "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|"
    "Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|"
    "Code profession|Libellé profession|Code catégorie professionnelle|"
    "Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|"
    "Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|"
    "Numéro SIRET site|Numéro FINESS site|Raison sociale site|"
)


def _ps_row(kind: str, number: str, last: str, first: str, profession: str, skill: str) -> str:
    return (
        f"{kind}|{number}|{kind}{number}|DR|Docteur|M|Monsieur|{last}|{first}|{profession}|"
        f"Médecin|C|Civil|S|Spécialité ordinale|{skill}|Libellé|S|Salarié||570000059|CHR|"
    )


def _write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "ref.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _run(path: Path) -> str:
    out = io.StringIO()
    call_command("import_practitioners", str(path), stdout=out)
    return out.getvalue()


def test_it_loads_the_annuaire_sante_extract_in_latin_1(tmp_path) -> None:
    text = "\n".join(
        [
            PS_LIBRE_ACCES_HEADER,
            _ps_row("8", RPPS_1, "KELLER", "NICOLAS", "10", "SM44"),
            _ps_row("8", RPPS_1, "KELLER", "NICOLAS", "10", ""),  # a second activity
            _ps_row("0", "549900017", "LÉVÊQUE", "HÉLÈNE", "60", ""),
        ]
    )
    output = _run(_write(tmp_path, text, encoding="latin-1"))

    assert "2 créé(s), 0 mis à jour, 0 inchangé(s), 0 rejeté(s)" in output
    keller = PractitionerReference.objects.get(rpps=RPPS_1)
    assert (keller.last_name, keller.first_name, keller.specialty_code) == (
        "KELLER",
        "NICOLAS",
        "SM44",
    )
    nurse = PractitionerReference.objects.get(adeli="549900017")
    assert (nurse.last_name, nurse.profession_code, nurse.rpps) == ("LÉVÊQUE", "60", None)


@pytest.mark.parametrize("delimiter", [";", ","])
def test_it_loads_a_simple_csv(tmp_path, delimiter) -> None:
    rows = [
        ["rpps", "nom", "prenom", "profession", "specialite"],
        [RPPS_1, "Keller", "Nicolas", "10", "SM44"],
        [RPPS_2, "Petit", "Anne", "10", "SM54"],
    ]
    text = "\ufeff" + "\r\n".join(delimiter.join(row) for row in rows)
    output = _run(_write(tmp_path, text))
    assert "2 créé(s)" in output
    assert PractitionerReference.objects.get(rpps=RPPS_2).specialty_code == "SM54"


def test_it_is_idempotent_and_updates_what_changed(tmp_path) -> None:
    first = _write(tmp_path, f"rpps;nom;prenom\n{RPPS_1};Keller;Nicolas\n{RPPS_2};Petit;Anne\n")
    _run(first)
    assert "0 créé(s), 0 mis à jour, 2 inchangé(s), 0 rejeté(s)" in _run(first)

    second = _write(
        tmp_path,
        f"rpps;nom;prenom\n{RPPS_1};Keller;Nicolas\n{RPPS_2};Petit-Durand;Anne\n",
        name="b",
    )
    assert "0 créé(s), 1 mis à jour, 1 inchangé(s)" in _run(second)
    assert PractitionerReference.objects.get(rpps=RPPS_2).last_name == "Petit-Durand"
    assert PractitionerReference.objects.count() == 2


def test_it_reports_each_rejected_line_with_its_reason(tmp_path) -> None:
    text = "\n".join(
        [
            "rpps;nom;prenom",
            f"{RPPS_1};Keller;Nicolas",
            "1234;Court;Trop",
            f"{RPPS_2};;Anne",
            "1099999901A;Lettre;Avec",
            ";Sans;Numero",
        ]
    )
    output = _run(_write(tmp_path, text))

    assert "ligne 3 : rejetée – Le numéro RPPS doit comporter 11 chiffres." in output
    assert "ligne 4 : rejetée – nom d'exercice manquant" in output
    assert "ligne 5 : rejetée – Le numéro RPPS ne doit comporter que des chiffres." in output
    assert "ligne 6 : rejetée – identifiant RPPS ou ADELI manquant" in output
    assert "1 créé(s), 0 mis à jour, 0 inchangé(s), 4 rejeté(s)" in output
    assert list(PractitionerReference.objects.values_list("rpps", flat=True)) == [RPPS_1]


def test_an_rpps_failing_luhn_is_imported_with_a_note(tmp_path) -> None:
    output = _run(_write(tmp_path, f"rpps;nom;prenom\n{RPPS_BAD_LUHN};Keller;Nicolas\n"))
    assert "1 créé(s)" in output
    assert "1 numéro(s) RPPS ne vérifient pas la clé de Luhn" in output
    assert PractitionerReference.objects.filter(rpps=RPPS_BAD_LUHN).exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "Fichier vide"),
        ("numero;nom;prenom\n10000001916;Keller;Nicolas\n", "En-tête non reconnu"),
        ("rpps;prenom\n10000001916;Nicolas\n", "En-tête non reconnu"),
        ('rpps;nom\n"10000001916;Keller\n', "mal formé"),
    ],
)
def test_a_malformed_file_writes_nothing_and_fails(tmp_path, content, message) -> None:
    with pytest.raises(CommandError, match=message) as raised:
        _run(_write(tmp_path, content))
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith("Import refusé, rien n'a été écrit")
    assert PractitionerReference.objects.count() == 0


def test_a_missing_file_fails_with_one_line(tmp_path) -> None:
    with pytest.raises(CommandError, match="Fichier illisible"):
        _run(tmp_path / "absent.csv")


def test_a_binary_file_fails(tmp_path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(CommandError, match="pas un fichier texte"):
        _run(path)


def test_it_costs_a_fixed_number_of_queries(tmp_path, django_assert_max_num_queries) -> None:
    lines = ["rpps;nom;prenom"] + [
        f"{with_luhn(f'10000{n:05d}')};Nom{n};Prenom" for n in range(300)
    ]
    path = _write(tmp_path, "\n".join(lines))
    with django_assert_max_num_queries(8):
        _run(path)
    assert PractitionerReference.objects.count() == 300
    with django_assert_max_num_queries(8):
        _run(path)
