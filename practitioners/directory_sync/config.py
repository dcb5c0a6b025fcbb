"""Configuring a telephony directory: the referent's settings, the bind password (encrypted
with a key derived from SECRET_KEY, or read from the operator's file) and the connection test."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from establishments.models import Establishment
from portal.models import User
from portal.secrets import UnreadableSecret, decrypt_secret, encrypt_secret
from practitioners.models import TelephonyDirectory
from practitioners.models.directory import DEFAULT_ATTRIBUTE_MAPPING, MAPPED_FACTS
from practitioners.telephony import (
    ConnectionCheck,
    DirectoryConfigurationError,
    DirectorySettings,
    TelephonyDirectoryClient,
    check_attribute_name,
    check_dn,
    check_filter,
    parse_directory_url,
)

logger = logging.getLogger(__name__)

_PASSWORD_PURPOSE = "practitioners.telephony-directory.bind-password"  # noqa: S105 - a key label


# --- Bind passwords: encrypted with a key derived from SECRET_KEY, or in the operator's file ---


def _encrypt_password(password: str) -> str:
    return encrypt_secret(password, purpose=_PASSWORD_PURPOSE)


def bind_password(directory: TelephonyDirectory) -> str:
    """The bind password on record: the operator's file first, else the encrypted one."""
    if directory.bind_password_file:
        try:
            return Path(directory.bind_password_file).read_text(encoding="utf-8").strip("\r\n")
        except OSError:
            raise DirectoryConfigurationError(
                _(
                    "Le fichier du mot de passe de l'annuaire est illisible : prévenez "
                    "l'exploitant du portail."
                )
            ) from None
    if directory.bind_password_encrypted:
        try:
            return decrypt_secret(directory.bind_password_encrypted, purpose=_PASSWORD_PURPOSE)
        except UnreadableSecret:
            raise DirectoryConfigurationError(
                _(
                    "Le mot de passe enregistré ne peut plus être déchiffré (la clé secrète du "
                    "portail a changé) : saisissez-le à nouveau."
                )
            ) from None
    return ""


# --- Configuration -----------------------------------------------------------------------------


def _credentials_moved(directory: TelephonyDirectory | None, *, url: str, bind_dn: str) -> bool:
    """Whether the stored password would now go to another server or account.

    A stored password is only ever sent where it was entered: otherwise changing the URL to a
    server of one's own would reveal it.
    """
    return directory is not None and (directory.url != url or directory.bind_dn != bind_dn)


def configuration_errors(
    *, url: str, base_dn: str, search_filter: str, bind_dn: str, mapping: Mapping[str, str]
) -> dict[str, list[str]]:
    """Malformed settings, as {field: [French messages]} (fields of the referent's form)."""
    errors: dict[str, list[str]] = defaultdict(list)
    checks: list[tuple[str, Any]] = [
        ("url", lambda: parse_directory_url(url)),
        ("base_dn", lambda: check_dn(base_dn)),
        ("search_filter", lambda: check_filter(search_filter)),
    ]
    if bind_dn:
        checks.append(("bind_dn", lambda: check_dn(bind_dn)))
    for fact in MAPPED_FACTS:
        if mapping.get(fact):
            checks.append(
                (f"attribute_{fact}", lambda name=mapping[fact]: check_attribute_name(name))
            )
    for field_name, check in checks:
        try:
            check()
        except DirectoryConfigurationError as error:
            errors[field_name].append(error.message)
    if not mapping.get("rpps") and not mapping.get("email"):
        errors["attribute_rpps"].append(
            _("Indiquez l'attribut du RPPS ou celui de l'e-mail : sans eux, rien ne se rapproche.")
        )
    return dict(errors)


def clean_mapping(mapping: Mapping[str, str] | None) -> dict[str, str]:
    source = DEFAULT_ATTRIBUTE_MAPPING if mapping is None else mapping
    return {fact: (source.get(fact) or "").strip() for fact in MAPPED_FACTS}


@transaction.atomic
def telephony_directory_save(
    *,
    establishment: Establishment,
    url: str,
    base_dn: str,
    search_filter: str,
    bind_dn: str = "",
    password: str = "",
    attribute_mapping: Mapping[str, str] | None = None,
    enabled: bool = True,
    by: User | None = None,
) -> TelephonyDirectory:
    """Create or update the telephony directory of ``establishment``.

    A blank ``password`` keeps the one on record, unless the URL or the bind DN changed (then
    it must be typed again); an empty bind DN means an anonymous bind and forgets the password.
    Raises ``ValidationError`` (per field) on malformed values; nothing is contacted here.
    """
    url, base_dn, bind_dn = url.strip(), base_dn.strip(), bind_dn.strip()
    search_filter = search_filter.strip()
    mapping = clean_mapping(attribute_mapping)
    directory = (
        TelephonyDirectory.objects.select_for_update().filter(establishment=establishment).first()
    )
    errors = configuration_errors(
        url=url, base_dn=base_dn, search_filter=search_filter, bind_dn=bind_dn, mapping=mapping
    )
    moved = _credentials_moved(directory, url=url, bind_dn=bind_dn)
    if directory is not None and directory.bind_password_file:
        if moved:
            errors.setdefault("url", []).append(
                _(
                    "Le mot de passe de cet annuaire est fourni par l'exploitant du portail : "
                    "demandez-lui de changer l'adresse du serveur ou le DN de connexion."
                )
            )
        if password:
            errors.setdefault("password", []).append(
                _("Le mot de passe de cet annuaire est fourni par l'exploitant du portail.")
            )
    elif bind_dn and not password:
        if directory is None or not directory.bind_password_encrypted:
            errors.setdefault("password", []).append(
                _("Indiquez le mot de passe du DN de connexion.")
            )
        elif moved:
            errors.setdefault("password", []).append(
                _(
                    "Saisissez à nouveau le mot de passe : l'adresse du serveur ou le DN de "
                    "connexion a changé."
                )
            )
    if errors:
        raise ValidationError(errors)

    values: dict[str, Any] = {
        "url": url,
        "base_dn": base_dn,
        "search_filter": search_filter,
        "bind_dn": bind_dn,
        "attribute_mapping": mapping,
        "enabled": enabled,
    }
    if not bind_dn:
        values["bind_password_encrypted"] = ""
    elif password:
        values["bind_password_encrypted"] = _encrypt_password(password)
    if directory is None:
        directory = TelephonyDirectory.objects.create(establishment=establishment, **values)
    else:
        changed = [name for name, value in values.items() if getattr(directory, name) != value]
        if changed:
            for name in changed:
                setattr(directory, name, values[name])
            directory.save(update_fields=[*changed, "updated_at"])
    logger.info(
        "telephony directory of establishment %s saved by user %s",
        establishment.pk,
        by.pk if by else None,
    )
    return directory


def telephony_directory_test_connection(
    *,
    establishment: Establishment,
    url: str,
    base_dn: str,
    search_filter: str,
    bind_dn: str = "",
    password: str = "",
) -> ConnectionCheck:
    """Bind and read one page with these (possibly unsaved) settings.

    A blank ``password`` uses the one on record when the URL and bind DN are those on record.
    Raises ``ValidationError`` on malformed values, ``DirectoryError`` when the directory fails.
    """
    url, base_dn, bind_dn = url.strip(), base_dn.strip(), bind_dn.strip()
    search_filter = search_filter.strip()
    errors = configuration_errors(
        url=url,
        base_dn=base_dn,
        search_filter=search_filter,
        bind_dn=bind_dn,
        mapping=DEFAULT_ATTRIBUTE_MAPPING,
    )
    if errors:
        raise ValidationError(errors)
    directory = TelephonyDirectory.objects.filter(establishment=establishment).first()
    if (
        bind_dn
        and not password
        and directory is not None
        and not _credentials_moved(directory, url=url, bind_dn=bind_dn)
    ):
        password = bind_password(directory)
    client = TelephonyDirectoryClient(
        DirectorySettings(
            url=url,
            base_dn=base_dn,
            search_filter=search_filter,
            bind_dn=bind_dn,
            password=password,
        )
    )
    return client.check()
