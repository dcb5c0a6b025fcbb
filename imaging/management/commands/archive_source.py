"""``manage.py archive_source add|list|remove``: connect establishments' Orthanc archives
from a script. Passwords are read from files, never from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from establishments.models import Establishment
from imaging.models import ArchiveSource
from imaging.services import archive_source_create, archive_source_remove


def _first_message(error: ValidationError) -> str:
    return str(error.messages[0]) if error.messages else str(error)


def _read_password(name: str) -> str:
    path = Path(name)
    try:
        password = path.read_text(encoding="utf-8").strip("\r\n")
    except OSError as exc:
        raise CommandError(f"Fichier de mot de passe illisible : {path}") from exc
    if not password:
        raise CommandError(f"Le fichier de mot de passe est vide : {path}")
    return password


class Command(BaseCommand):
    help = "Gère les archives Orthanc connectées à l'index : add, list, remove."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="connecter l'archive d'un établissement")
        add.add_argument("--establishment", required=True, help="FINESS géographique")
        add.add_argument("--url", required=True, help="adresse de l'API REST Orthanc")
        add.add_argument("--username", required=True, help="utilisateur Orthanc du portail")
        add.add_argument(
            "--password-file", required=True, help="fichier contenant le mot de passe Orthanc"
        )
        add.add_argument("--disabled", action="store_true", help="ne pas synchroniser encore")
        add.add_argument(
            "--callback-username",
            default="",
            help="utilisateur de l'archive auprès du portail (WebServiceUsername)",
        )
        add.add_argument(
            "--callback-password-file",
            help="fichier contenant le mot de passe de l'archive auprès du portail",
        )
        add.add_argument(
            "--viewer-url",
            default="",
            help="adresse de la visionneuse, avec {study_instance_uid} et {token}",
        )
        actions.add_parser("list", help="lister les archives et l'état de leur synchronisation")
        remove = actions.add_parser("remove", help="déconnecter une archive")
        remove.add_argument("--establishment", required=True, help="FINESS géographique")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self._add(options)
        elif action == "list":
            self._list()
        else:
            self._remove(options["establishment"])

    def _establishment(self, finess: str) -> Establishment:
        establishment = Establishment.objects.filter(finess_eg=finess.strip()).first()
        if establishment is None:
            raise CommandError(f"Aucun établissement de FINESS géographique {finess}.")
        return establishment

    def _add(self, options: dict[str, Any]) -> None:
        establishment = self._establishment(options["establishment"])
        password = _read_password(options["password_file"])
        callback_password = ""
        if bool(options["callback_username"]) != bool(options["callback_password_file"]):
            raise CommandError(
                "--callback-username et --callback-password-file vont ensemble : "
                "indiquez les deux ou aucun."
            )
        if options["callback_password_file"]:
            callback_password = _read_password(options["callback_password_file"])
        try:
            source = archive_source_create(
                establishment=establishment,
                base_url=options["url"],
                username=options["username"],
                password=password,
                enabled=not options["disabled"],
                callback_username=options["callback_username"],
                callback_password=callback_password,
                viewer_url=options["viewer_url"],
            )
        except ValidationError as exc:
            raise CommandError(_first_message(exc)) from exc
        self.stdout.write(
            f"Archive n°{source.pk} connectée pour {establishment} ({source.base_url})."
        )

    def _list(self) -> None:
        sources = ArchiveSource.objects.select_related("establishment").order_by(
            "establishment__name", "pk"
        )
        if not sources:
            self.stdout.write("Aucune archive connectée.")
            return
        for source in sources:
            state = "active" if source.enabled else "désactivée"
            success = source.last_success_at.isoformat() if source.last_success_at else "jamais"
            error = f" ; erreur : {source.last_error}" if source.last_error else ""
            self.stdout.write(
                f"{source.pk}\t{source.establishment.finess_eg}\t{source.establishment}\t"
                f"{source.base_url}\t{source.username}\t{state}\tcurseur {source.cursor}"
                f"\tappels du portail {source.callback_username or 'non'}"
                f"\tretard {source.lag}\tdernier succès {success}{error}"
            )

    def _remove(self, finess: str) -> None:
        establishment = self._establishment(finess)
        source = ArchiveSource.objects.filter(establishment=establishment).first()
        if source is None:
            raise CommandError(f"{establishment} n'a pas d'archive connectée.")
        archive_source_remove(source=source)
        self.stdout.write(
            f"Archive de {establishment} déconnectée ; ses examens restent dans l'index."
        )
