"""The data.gouv JSON shape of the FINESS extract, as published by the ANS.

Top level: ``pmej``, the legal entities (EJ), each with its geographic establishments in
``ege``; ``gcc`` and ``gco`` (groupings) are not imported. One FinessEntry is read per
legal entity (level ``ej``, ``finess_ej`` itself) and per establishment (level ``eg``,
``finess_ej`` and ``legal_entity_name`` its parent's). ``etatObjet`` ``"I"`` marks a closed
entry, ``"A"`` an active one; a closed entry keeps its ``dateFermeture``, or else the date of
its ``dateDerniereMaj``. The extract carries category codes without their labels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from django.utils.translation import gettext as _

from establishments.finess.records import (
    RECORD_FIELDS,
    ExtractBuilder,
    FinessFileError,
    ParsedExtract,
    RawEntry,
    clean_text,
    strip_cedex,
)
from establishments.models import FinessEntry

SHAPE = "JSON data.gouv"

# Older versions of the schema spell the legal entity block with a lower-case "mej".
_LEGAL_ENTITY_KEYS = ("informationsGeneralesPMEJ", "informationsGeneralesPmej")
_SITE_KEYS = ("informationsGeneralesEGE", "informationsGeneralesEge")

_PROVIDES = frozenset(RECORD_FIELDS) - {"category_label"}


def read_json_extract(path: Path) -> ParsedExtract:
    """Read and validate a whole JSON extract; raise :class:`FinessFileError` if unusable."""
    data = _load(path)
    legal_entities = data.get("pmej") if isinstance(data, dict) else None
    if not isinstance(legal_entities, list):
        raise FinessFileError(
            _("Le fichier JSON n'a pas la forme d'un extrait FINESS : liste « pmej » absente.")
        )
    builder = ExtractBuilder(SHAPE)
    for index, legal_entity in enumerate(legal_entities):
        _read_legal_entity(builder, f"pmej[{index}]", legal_entity)
    return builder.extract


def _load(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise FinessFileError(
            _(
                "JSON illisible ligne %(line)d, colonne %(column)d : "
                "le fichier est tronqué ou n'est pas du JSON."
            )
            % {"line": error.lineno, "column": error.colno}
        ) from error
    except UnicodeDecodeError as error:
        raise FinessFileError(_("Le fichier JSON n'est pas encodé en UTF-8.")) from error


def _block(item: Mapping[str, Any], keys: tuple[str, ...]) -> Mapping[str, Any] | None:
    for key in keys:
        block = item.get(key)
        if isinstance(block, dict):
            return block
    return None


def _read_legal_entity(builder: ExtractBuilder, location: str, item: object) -> None:
    if not isinstance(item, dict):
        builder.reject(location, _("Entité juridique illisible : un objet JSON est attendu."))
        return
    info = _block(item, _LEGAL_ENTITY_KEYS)
    finess_ej = ""
    name = ""
    if info is None:
        builder.reject(location, _("Bloc « informationsGeneralesPMEJ » absent."))
    else:
        finess_ej = clean_text(info.get("numFinessPm"))
        short_name = clean_text(info.get("denominationPm"))
        name = clean_text(info.get("denominationLonguePmSmsse")) or short_name
        address = _address(item.get("adresse"))
        builder.add(
            RawEntry(
                location=location,
                level=FinessEntry.Level.LEGAL_ENTITY,
                provides=_PROVIDES,
                finess=finess_ej,
                finess_ej=finess_ej,
                siren=clean_text(info.get("siren")),
                name=name,
                short_name=short_name,
                legal_entity_name=name,
                address=address.street,
                postal_code=address.postal_code,
                city=address.city,
                cog_commune=address.cog_commune,
                phone=_phone(item.get("contact")),
                opened_on=clean_text(info.get("dateCreation")),
                closed=_is_closed(item, info),
                closed_on=clean_text(info.get("dateFermeture")),
                updated_at=clean_text(item.get("dateDerniereMaj")),
            )
        )
    sites = item.get("ege")
    if not isinstance(sites, list):
        return
    for index, site in enumerate(sites):
        _read_site(
            builder, f"{location}.ege[{index}]", site, finess_ej=finess_ej, legal_entity_name=name
        )


def _read_site(
    builder: ExtractBuilder, location: str, item: object, *, finess_ej: str, legal_entity_name: str
) -> None:
    info = _block(item, _SITE_KEYS) if isinstance(item, dict) else None
    if not isinstance(item, dict) or info is None:
        builder.reject(location, _("Bloc « informationsGeneralesEGE » absent."))
        return
    short_name = clean_text(info.get("nomEgeCourt"))
    address = _address(item.get("adresse"))
    builder.add(
        RawEntry(
            location=location,
            level=FinessEntry.Level.SITE,
            provides=_PROVIDES,
            finess=clean_text(info.get("numFinessEge")),
            finess_ej=finess_ej,
            siret=clean_text(info.get("siret")),
            name=clean_text(info.get("nomEgeLong")) or short_name,
            short_name=short_name,
            legal_entity_name=legal_entity_name,
            category_code=clean_text(item.get("categorieentiteGeographiqueExercice")),
            address=address.street,
            postal_code=address.postal_code,
            city=address.city,
            cog_commune=address.cog_commune,
            phone=_phone(item.get("contact")),
            opened_on=clean_text(info.get("dateOuverture")),
            closed=_is_closed(item, info),
            closed_on=clean_text(info.get("dateFermeture")),
            updated_at=clean_text(item.get("dateDerniereMaj")),
        )
    )


def _is_closed(item: Mapping[str, Any], info: Mapping[str, Any]) -> bool:
    """``etatObjet`` decides; without it, a closing date does."""
    state = clean_text(item.get("etatObjet")).upper()
    if state in ("A", "I"):
        return state == "I"
    return bool(clean_text(info.get("dateFermeture")))


class _Address(NamedTuple):
    street: str = ""
    postal_code: str = ""
    city: str = ""
    cog_commune: str = ""


def _address(addresses: object) -> _Address:
    """Street line, postal code, city and commune code of the entry's first address.

    ``ligneQuatre`` is the street line with its type spelled out; when it is missing the
    number, type and street name are joined instead. A point name comes before it and a
    lieu-dit or post-office box after it.
    """
    if not isinstance(addresses, list):
        return _Address()
    address = next((item for item in addresses if isinstance(item, dict)), None)
    if address is None:
        return _Address()
    street = clean_text(address.get("ligneQuatre")) or " ".join(
        part
        for part in (
            clean_text(address.get("numeroVoie")),
            clean_text(address.get("typeVoie")),
            clean_text(address.get("libelleVoie")),
        )
        if part
    )
    parts = (
        clean_text(address.get("complementPointGeographique")),
        street,
        clean_text(address.get("lieuDit")),
    )
    return _Address(
        street=", ".join(part for part in parts if part),
        postal_code=clean_text(address.get("codePostal")),
        city=strip_cedex(clean_text(address.get("ligneAcheminement"))),
        cog_commune=clean_text(address.get("cogCommune")),
    )


def _phone(contacts: object) -> str:
    """The first telephone number among the entry's contacts."""
    if not isinstance(contacts, list):
        return ""
    for contact in contacts:
        telecom = contact.get("telecom") if isinstance(contact, dict) else None
        if isinstance(telecom, dict):
            phone = clean_text(telecom.get("telephone"))
            if phone:
                return phone
    return ""
