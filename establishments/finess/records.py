"""What a FINESS extract holds once read: validated records, rejected rows and warnings.

Both extract shapes (data.gouv JSON, etalab CSV) describe each entry as a :class:`RawEntry`
of cleaned strings; :class:`ExtractBuilder` turns it into a :class:`FinessRecord` or says
why the row is rejected, so that the validation rules are the same whatever the shape:

- a missing or malformed FINESS number, or no name at all, rejects the row;
- any other doubtful value (SIRET, SIREN, FINESS juridique, postal code, date) is dropped
  and reported as a warning, and the row is still imported;
- a FINESS number already read earlier in the same file rejects the later row.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from establishments.models import FinessEntry
from portal.identifiers import validate_finess, validate_siren, validate_siret

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

# The FinessEntry fields an extract may set (``finess`` is the key, ``imported_at`` the
# importer's own stamp).
RECORD_FIELDS: tuple[str, ...] = (
    "level",
    "finess_ej",
    "siren",
    "siret",
    "name",
    "short_name",
    "legal_entity_name",
    "category_code",
    "category_label",
    "address",
    "postal_code",
    "city",
    "department",
    "phone",
    "opened_on",
    "closed_on",
    "source_updated_at",
)

_MAX_LENGTHS: dict[str, int] = {
    model_field.name: model_field.max_length
    for model_field in FinessEntry._meta.get_fields()
    if isinstance(model_field, models.CharField) and model_field.max_length
}

# Labels of the identifiers in warnings, translated only when a warning is written.
_SIRET_LABEL = gettext_lazy("SIRET")
_SIREN_LABEL = gettext_lazy("SIREN")
_FINESS_EJ_LABEL = gettext_lazy("FINESS juridique")

_POSTAL_CODE = re.compile(r"^\d{5}$")
_FRENCH_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# A routing line ("ligne d'acheminement") is "<postal code> <city>[ CEDEX[ nn]]".
_ROUTING_LINE = re.compile(r"^(\d{5})\s*(.*)$")
_CEDEX = re.compile(r"\s+CEDEX(\s+\d+)?$", re.IGNORECASE)


class FinessImportError(Exception):
    """The import was refused and nothing was written; the message is one French line."""


class FinessFileError(FinessImportError):
    """The file is not a readable FINESS extract (missing, empty, truncated, unknown shape)."""


@dataclass(frozen=True)
class ImportIssue:
    """A rejected row, or a value dropped from an imported row, and where it was read.

    ``location`` is ``"ligne N"`` for CSV (the physical line of the file) and the index path
    such as ``"pmej[3].ege[1]"`` for JSON.
    """

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location} : {self.message}"


@dataclass(frozen=True)
class RawEntry:
    """One entry as an extract spells it: cleaned strings, nothing validated yet.

    ``provides`` names the FinessEntry fields this shape of file carries: the others are left
    as they are on an existing row (the etalab CSV, for one, has no legal entity name).
    ``department`` is the department as declared by the file, if any; ``cog_commune`` the
    INSEE code of the commune. ``closed`` says whether the source marks the entry closed;
    ``closed_on`` is its closing date and ``updated_at`` its last change in FINESS, whose
    date stands in for a missing closing date.
    """

    location: str
    level: str
    provides: frozenset[str]
    finess: str
    finess_ej: str = ""
    siren: str = ""
    siret: str = ""
    name: str = ""
    short_name: str = ""
    legal_entity_name: str = ""
    category_code: str = ""
    category_label: str = ""
    address: str = ""
    postal_code: str = ""
    city: str = ""
    department: str = ""
    cog_commune: str = ""
    phone: str = ""
    opened_on: str = ""
    closed: bool = False
    closed_on: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class FinessRecord:
    """One validated entry, ready to be compared with the database and written."""

    location: str
    finess: str
    provides: frozenset[str]
    level: str
    finess_ej: str = ""
    siren: str = ""
    siret: str = ""
    name: str = ""
    short_name: str = ""
    legal_entity_name: str = ""
    category_code: str = ""
    category_label: str = ""
    address: str = ""
    postal_code: str = ""
    city: str = ""
    department: str = ""
    phone: str = ""
    opened_on: datetime.date | None = None
    closed_on: datetime.date | None = None
    source_updated_at: datetime.datetime | None = None

    def values(self) -> dict[str, Any]:
        """The model field values this record carries (only the fields its file provides)."""
        return {name: getattr(self, name) for name in RECORD_FIELDS if name in self.provides}


@dataclass
class ParsedExtract:
    """A whole file read and validated, before anything is written."""

    shape: str
    records: list[FinessRecord] = field(default_factory=list)
    rejections: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)


def clean_text(value: object) -> str:
    """A JSON or CSV value as text: surrounding spaces removed and inner runs collapsed.

    Extracts pad names with trailing spaces and sometimes double inner spaces. Numbers are
    written out; anything else (objects, lists, booleans) is not text and reads as empty.
    """
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def split_routing_line(value: str) -> tuple[str, str]:
    """``"01012 BOURG EN BRESSE CEDEX"`` -> ``("01012", "BOURG EN BRESSE")``."""
    match = _ROUTING_LINE.match(value)
    if match is None:
        return "", strip_cedex(value)
    return match.group(1), strip_cedex(match.group(2))


def strip_cedex(city: str) -> str:
    """A routing city name without its CEDEX suffix, which names a delivery office."""
    return _CEDEX.sub("", city).strip()


def department_of(*, cog_commune: str = "", declared: str = "", postal_code: str = "") -> str:
    """The department of an entry, from the best source available.

    1. The commune's INSEE code (``cogCommune``): its first two characters (``2A``/``2B`` in
       Corsica), three for overseas (``97x``, ``98x``).
    2. The department the file declares, when it is two digits or ``2A``/``2B`` (the etalab
       CSV writes ``9A``, ``9B``... for overseas departments: those are not used).
    3. The postal code: its first two digits, three for overseas (``971``...``988``). In
       Corsica, postal codes ``200xx``-``201xx`` are Corse-du-Sud (``2A``) and ``202xx`` and
       above Haute-Corse (``2B``). A CEDEX code may name a neighbouring department: this is
       a fallback only.

    Returns an empty string when none of them gives a department.
    """
    cog = cog_commune.upper()
    if len(cog) == 5:
        if cog[:2] in ("97", "98") and cog.isdigit():
            return cog[:3]
        if cog[:2] in ("2A", "2B") or cog[:2].isdigit():
            return cog[:2]
    declared = declared.upper()
    if declared in ("2A", "2B") or (len(declared) == 2 and declared.isdigit()):
        return declared
    if _POSTAL_CODE.match(postal_code):
        if postal_code[:2] in ("97", "98"):
            return postal_code[:3]
        if postal_code[:2] == "20":
            return "2A" if postal_code[:3] in ("200", "201") else "2B"
        return postal_code[:2]
    return ""


def parse_date(value: str) -> datetime.date:
    """An extract date: ``AAAA-MM-JJ`` (a time after it is ignored) or ``JJ/MM/AAAA``.

    Raises ``ValueError`` otherwise.
    """
    french = _FRENCH_DATE.match(value)
    if french is not None:
        return datetime.date(int(french.group(3)), int(french.group(2)), int(french.group(1)))
    if _ISO_DATE.match(value):
        if len(value) == 10:
            return datetime.date.fromisoformat(value)
        return datetime.datetime.fromisoformat(value).date()
    raise ValueError(value)


def parse_datetime(value: str) -> datetime.datetime:
    """An extract timestamp as an aware datetime; FINESS writes French local time.

    Accepts what :func:`parse_date` accepts (a date alone means midnight) and ISO 8601 with
    a time. Raises ``ValueError`` otherwise.
    """
    if _FRENCH_DATE.match(value) or len(value) == 10:
        moment = datetime.datetime.combine(parse_date(value), datetime.time())
    elif _ISO_DATE.match(value):
        moment = datetime.datetime.fromisoformat(value)
    else:
        raise ValueError(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _first_message(error: ValidationError) -> str:
    return error.messages[0]


class ExtractBuilder:
    """Validates raw entries one by one and collects the result of a whole file."""

    def __init__(self, shape: str) -> None:
        self.extract = ParsedExtract(shape=shape)
        self._first_seen: dict[str, str] = {}
        # The national file repeats the same legal entities and dates on thousands of rows:
        # values already validated are not validated again.
        self._valid_finess_ej: dict[str, str] = {}
        self._dates: dict[str, datetime.date] = {}
        self._moments: dict[str, datetime.datetime] = {}

    def reject(self, location: str, message: str) -> None:
        """Report a row that is not imported."""
        self.extract.rejections.append(ImportIssue(location, message))

    def warn(self, location: str, message: str) -> None:
        """Report a value dropped from a row that is still imported."""
        self.extract.warnings.append(ImportIssue(location, message))

    def add(self, raw: RawEntry) -> None:
        """Validate ``raw``: keep it as a record, or reject it with the reason."""
        try:
            finess = validate_finess(raw.finess)
        except ValidationError as error:
            message = _first_message(error)
            if raw.finess:
                message = _("%(message)s (valeur lue : « %(value)s »)") % {
                    "message": message,
                    "value": raw.finess,
                }
            self.reject(raw.location, message)
            return
        first = self._first_seen.get(finess)
        if first is not None:
            self.reject(
                raw.location,
                _("Le numéro FINESS %(finess)s figure déjà plus haut dans le fichier (%(first)s).")
                % {"finess": finess, "first": first},
            )
            return
        name = raw.name or raw.short_name
        if not name:
            self.reject(
                raw.location, _("La raison sociale de %(finess)s est absente.") % {"finess": finess}
            )
            return
        self._first_seen[finess] = raw.location
        self.extract.records.append(self._record(raw, finess=finess, name=name))

    def _record(self, raw: RawEntry, *, finess: str, name: str) -> FinessRecord:
        location = raw.location
        siret = self._identifier(location, raw.siret, validate_siret, _SIRET_LABEL)
        siren = self._identifier(location, raw.siren, validate_siren, _SIREN_LABEL)
        if not siren and siret:
            # A SIRET is the SIREN of its legal entity followed by a 5-digit establishment key.
            siren = siret[:9]
        postal_code = raw.postal_code
        if postal_code and not _POSTAL_CODE.match(postal_code):
            self.warn(
                location,
                _("Code postal « %(value)s » ignoré : il doit comporter 5 chiffres.")
                % {"value": postal_code},
            )
            postal_code = ""
        updated_at = self._datetime(location, raw.updated_at, "source_updated_at")
        return FinessRecord(
            location=location,
            finess=finess,
            provides=raw.provides,
            level=raw.level,
            finess_ej=self._finess_ej(location, raw.finess_ej),
            siren=siren,
            siret=siret,
            name=_fit("name", name),
            short_name=_fit("short_name", raw.short_name),
            legal_entity_name=_fit("legal_entity_name", raw.legal_entity_name),
            category_code=_fit("category_code", raw.category_code),
            category_label=_fit("category_label", raw.category_label),
            address=_fit("address", raw.address),
            postal_code=postal_code,
            city=_fit("city", raw.city),
            department=department_of(
                cog_commune=raw.cog_commune, declared=raw.department, postal_code=postal_code
            ),
            phone=_fit("phone", "".join(raw.phone.split())),
            opened_on=self._date(location, raw.opened_on, "opened_on"),
            closed_on=self._closed_on(raw, updated_at),
            source_updated_at=updated_at,
        )

    def _finess_ej(self, location: str, value: str) -> str:
        known = self._valid_finess_ej.get(value)
        if known is None:
            known = self._identifier(location, value, validate_finess, _FINESS_EJ_LABEL)
            if known:
                self._valid_finess_ej[value] = known
        return known

    def _identifier(
        self,
        location: str,
        value: str,
        validator: Callable[[str | None], str],
        label: StrOrPromise,
    ) -> str:
        """The normalised identifier, or ``""`` (with a warning) when it does not validate."""
        if not value:
            return ""
        try:
            return validator(value)
        except ValidationError as error:
            self.warn(
                location,
                _("%(label)s « %(value)s » ignoré : %(reason)s")
                % {"label": label, "value": value, "reason": _first_message(error)},
            )
            return ""

    def _date(self, location: str, value: str, field_name: str) -> datetime.date | None:
        if not value:
            return None
        known = self._dates.get(value)
        if known is None:
            try:
                known = self._dates[value] = parse_date(value)
            except ValueError:
                self._warn_date(location, value, field_name)
        return known

    def _datetime(self, location: str, value: str, field_name: str) -> datetime.datetime | None:
        if not value:
            return None
        known = self._moments.get(value)
        if known is None:
            try:
                known = self._moments[value] = parse_datetime(value)
            except ValueError:
                self._warn_date(location, value, field_name)
        return known

    def _warn_date(self, location: str, value: str, field_name: str) -> None:
        label = getattr(FinessEntry._meta.get_field(field_name), "verbose_name", field_name)
        self.warn(
            location,
            _("Date « %(value)s » ignorée (%(field)s) : format attendu AAAA-MM-JJ.")
            % {"value": value, "field": label},
        )

    def _closed_on(
        self, raw: RawEntry, updated_at: datetime.datetime | None
    ) -> datetime.date | None:
        """The closing date of a closed entry; its last update's date when it has none."""
        if not raw.closed:
            return None
        closed_on = self._date(raw.location, raw.closed_on, "closed_on")
        if closed_on is None and updated_at is not None:
            closed_on = timezone.localtime(updated_at).date()
        if closed_on is None:
            self.warn(
                raw.location,
                _("Entrée fermée sans date de fermeture lisible : elle est importée ouverte."),
            )
        return closed_on


def _fit(field_name: str, value: str) -> str:
    """``value`` cut to the column's length (FINESS names fit; a broken file must not fail)."""
    return value[: _MAX_LENGTHS[field_name]]
