"""The one module that speaks LDAP: a small typed client for establishments' telephony directories.

Everything else (the sync, the referent's "test connection" button) goes through
``TelephonyDirectoryClient``. Every failure comes out as a ``DirectoryError`` whose message is
French, fit to show to a referent and to store on the directory: it names the server, the DN or
the filter at fault, never the password, and never carries a traceback.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import ldap3
from django.utils.translation import gettext as _
from ldap3.core import exceptions as ldap_errors
from ldap3.core.results import RESULT_SIZE_LIMIT_EXCEEDED, RESULT_SUCCESS
from ldap3.operation.search import parse_filter
from ldap3.utils.dn import parse_dn

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
RECEIVE_TIMEOUT_S = 30  # whole seconds: ldap3 packs it into SO_RCVTIMEO as an integer
DEFAULT_PAGE_SIZE = 200
# Attributes that name a person, asked for every entry so reports can say who an entry is.
NAME_ATTRIBUTES = ("cn", "displayName", "givenName", "sn")

_ATTRIBUTE_NAME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$")


class DirectoryError(Exception):
    """A directory could not be read. ``message`` is French and safe to show."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DirectoryUnreachable(DirectoryError):
    """No connection: refused, timed out, unknown host, TLS handshake refused."""

    code = "unreachable"


class DirectoryInvalidCredentials(DirectoryError):
    """The server refused the bind DN and password."""

    code = "credentials"


class DirectoryBaseNotFound(DirectoryError):
    """The base DN does not exist, or the bind account may not see it."""

    code = "base_dn"


class DirectoryConfigurationError(DirectoryError):
    """The configuration is malformed (URL, DN, filter, attribute name, missing password)."""

    code = "configuration"


class DirectoryProtocolError(DirectoryError):
    """The server answered, but not as expected (not LDAP, refused the search...)."""

    code = "protocol"


@dataclass(frozen=True)
class DirectorySettings:
    """Where and how to read one directory."""

    url: str
    base_dn: str
    search_filter: str
    bind_dn: str = ""
    password: str = field(default="", repr=False)
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    receive_timeout_s: int = RECEIVE_TIMEOUT_S


@dataclass(frozen=True)
class DirectoryEntry:
    """One entry, its attribute names lower-cased and its values decoded from UTF-8."""

    dn: str
    attributes: Mapping[str, tuple[str, ...]]

    def values(self, name: str) -> tuple[str, ...]:
        return self.attributes.get(name.lower(), ())

    def first(self, name: str) -> str:
        """The first non-blank value of ``name``, stripped; "" when there is none."""
        for value in self.values(name):
            if value.strip():
                return value.strip()
        return ""

    @property
    def display_name(self) -> str:
        for name in ("displayName", "cn"):
            if value := self.first(name):
                return value
        return " ".join(part for part in (self.first("givenName"), self.first("sn")) if part)


@dataclass(frozen=True)
class ConnectionCheck:
    """What a connection test saw: entries in the first page, and whether more pages follow."""

    entries: int
    more: bool


@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int
    use_ssl: bool

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_directory_url(url: str) -> ServerAddress:
    """Host, port and TLS of an ``ldap://`` or ``ldaps://`` URL; raises on anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise DirectoryConfigurationError(_("L'adresse du serveur est mal formée.")) from None
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise DirectoryConfigurationError(
            _(
                "L'adresse du serveur doit commencer par ldap:// ou ldaps:// suivi du nom du "
                "serveur."
            )
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise DirectoryConfigurationError(
            _(
                "Indiquez seulement le serveur et le port (par exemple "
                "ldaps://annuaire.exemple.fr:636) ; le DN de base et le filtre ont leurs propres "
                "champs."
            )
        )
    use_ssl = parts.scheme == "ldaps"
    return ServerAddress(
        host=parts.hostname, port=port or (636 if use_ssl else 389), use_ssl=use_ssl
    )


def check_dn(dn: str) -> None:
    """Raise ``DirectoryConfigurationError`` unless ``dn`` is a well-formed DN."""
    try:
        parse_dn(dn)
    except (ldap_errors.LDAPInvalidDnError, ValueError, IndexError):
        raise DirectoryConfigurationError(
            _("« %(dn)s » n'est pas un DN valide (exemple : ou=personnels,dc=exemple,dc=fr).")
            % {"dn": dn}
        ) from None


def check_filter(search_filter: str) -> None:
    """Raise ``DirectoryConfigurationError`` unless ``search_filter`` is a well-formed filter."""
    try:
        parse_filter(search_filter, None, True, True, None, False)
    except (ldap_errors.LDAPInvalidFilterError, ValueError, IndexError, TypeError):
        raise DirectoryConfigurationError(
            _("Le filtre de recherche est invalide (exemple : (objectClass=inetOrgPerson)).")
        ) from None


def check_attribute_name(name: str) -> None:
    """Raise ``DirectoryConfigurationError`` unless ``name`` can be an LDAP attribute name."""
    if not _ATTRIBUTE_NAME.match(name):
        raise DirectoryConfigurationError(
            _("« %(name)s » n'est pas un nom d'attribut LDAP valide.") % {"name": name}
        )


class TelephonyDirectoryClient:
    """Reads one directory: bind, then a paged subtree search under the base DN."""

    def __init__(self, settings: DirectorySettings) -> None:
        self.settings = settings
        self.address = parse_directory_url(settings.url)
        check_dn(settings.base_dn)
        check_filter(settings.search_filter)
        if settings.bind_dn:
            check_dn(settings.bind_dn)
            if not settings.password:
                raise DirectoryConfigurationError(
                    _("Aucun mot de passe n'est enregistré pour le DN de connexion.")
                )

    def check(self, *, page_size: int = 100) -> ConnectionCheck:
        """Bind and read one page of the search: proves the server, account, base and filter."""
        with self._translated_errors(), self._connection() as connection:
            connection.search(
                self.settings.base_dn,
                self.settings.search_filter,
                search_scope=ldap3.SUBTREE,
                attributes=["1.1"],  # no attributes: only count
                paged_size=page_size,
            )
            entries = sum(1 for item in connection.response or [] if _is_entry(item))
            cookie = (
                (connection.result.get("controls") or {})
                .get("1.2.840.113556.1.4.319", {})
                .get("value", {})
                .get("cookie")
            )
            return ConnectionCheck(entries=entries, more=bool(cookie))

    def entries(
        self, *, attributes: Sequence[str], page_size: int = DEFAULT_PAGE_SIZE
    ) -> list[DirectoryEntry]:
        """Every entry of the search, read to the last page before returning.

        Reading everything first means a failure half-way through yields an error and no
        partial result, so the caller never acts on half a directory.
        """
        for name in attributes:
            check_attribute_name(name)
        wanted = sorted({*attributes, *NAME_ATTRIBUTES}, key=str.lower)
        with self._translated_errors(), self._connection() as connection:
            entries = [
                _entry(item)
                for item in connection.extend.standard.paged_search(
                    self.settings.base_dn,
                    self.settings.search_filter,
                    search_scope=ldap3.SUBTREE,
                    attributes=wanted,
                    paged_size=page_size,
                    generator=True,
                )
                if _is_entry(item)
            ]
            # ldap3 ends a paged search quietly on "size limit exceeded" (OpenLDAP's default
            # limit is 500 entries): half a directory would make the other half look gone.
            outcome = connection.result or {}
            if outcome.get("result") == RESULT_SIZE_LIMIT_EXCEEDED:
                raise DirectoryProtocolError(
                    _(
                        "L'annuaire %(server)s a arrêté la recherche après %(count)s entrées "
                        "(limite de taille du serveur) : demandez à son administrateur de lever "
                        "la limite pour le compte du portail."
                    )
                    % {"server": self.address, "count": len(entries)}
                )
            if outcome.get("result", RESULT_SUCCESS) != RESULT_SUCCESS:
                raise DirectoryProtocolError(
                    _("L'annuaire %(server)s a interrompu la recherche : %(reason)s.")
                    % {"server": self.address, "reason": outcome.get("description", "")}
                )
            return entries

    @contextmanager
    def _connection(self) -> Iterator[ldap3.Connection]:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED) if self.address.use_ssl else None
        server = ldap3.Server(
            self.address.host,
            port=self.address.port,
            use_ssl=self.address.use_ssl,
            tls=tls,
            get_info=ldap3.NONE,
            connect_timeout=self.settings.connect_timeout_s,
        )
        connection = ldap3.Connection(
            server,
            user=self.settings.bind_dn or None,
            password=self.settings.password or None,
            authentication=ldap3.SIMPLE if self.settings.bind_dn else ldap3.ANONYMOUS,
            receive_timeout=self.settings.receive_timeout_s,
            raise_exceptions=True,
            read_only=True,
            auto_referrals=False,
        )
        try:
            connection.open()
            connection.bind()
            yield connection
        finally:
            try:
                connection.unbind()
            except Exception:  # closing a broken socket must not hide the original failure
                logger.debug("LDAP unbind failed", exc_info=True)

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        """Turn whatever ldap3 or the socket raise into a ``DirectoryError`` with a French text."""
        try:
            yield
        except DirectoryError:
            raise
        except Exception as error:  # every failure must reach the referent as text
            translated = self._translate(error)
            logger.warning(
                "telephony directory %s: %s (%s)",
                self.address,
                translated.code,
                type(error).__name__,
            )
            raise translated from error

    def _translate(self, error: Exception) -> DirectoryError:
        server = str(self.address)
        if isinstance(error, ldap_errors.LDAPInvalidCredentialsResult):
            return DirectoryInvalidCredentials(
                _(
                    "L'annuaire %(server)s a refusé les identifiants : vérifiez le DN de "
                    "connexion et le mot de passe."
                )
                % {"server": server}
            )
        if isinstance(error, ldap_errors.LDAPNoSuchObjectResult):
            return DirectoryBaseNotFound(
                _(
                    "Le DN de base « %(base)s » est introuvable dans l'annuaire (ou le compte de "
                    "connexion n'a pas le droit de le lire)."
                )
                % {"base": self.settings.base_dn}
            )
        if isinstance(
            error,
            ldap_errors.LDAPInsufficientAccessRightsResult
            | ldap_errors.LDAPInappropriateAuthenticationResult
            | ldap_errors.LDAPStrongerAuthRequiredResult
            | ldap_errors.LDAPConfidentialityRequiredResult,
        ):
            return DirectoryInvalidCredentials(
                _(
                    "L'annuaire %(server)s refuse la lecture à ce compte (%(reason)s) : vérifiez "
                    "le DN de connexion, le mot de passe et ses droits."
                )
                % {"server": server, "reason": error.description}
            )
        if isinstance(
            error, ldap_errors.LDAPInvalidDNSyntaxResult | ldap_errors.LDAPInvalidDnError
        ):
            return DirectoryConfigurationError(
                _("L'annuaire %(server)s refuse un DN mal formé (DN de base ou de connexion).")
                % {"server": server}
            )
        if isinstance(error, ldap_errors.LDAPInvalidFilterError):
            return DirectoryConfigurationError(_("Le filtre de recherche est invalide."))
        if isinstance(error, ldap_errors.LDAPOperationResult):
            return DirectoryProtocolError(
                _("L'annuaire %(server)s a refusé l'opération : %(reason)s.")
                % {"server": server, "reason": error.description}
            )
        if isinstance(error, ldap_errors.LDAPResponseTimeoutError) or any(
            "timed out" in str(cause).lower() for cause in _causes(error)
        ):
            return DirectoryUnreachable(
                _("L'annuaire %(server)s ne répond pas (délai dépassé).") % {"server": server}
            )
        if any(
            isinstance(cause, ssl.SSLError | ldap_errors.LDAPSSLConfigurationError)
            or "ssl" in str(cause).lower()
            for cause in _causes(error)
        ):
            return DirectoryUnreachable(
                _(
                    "La connexion sécurisée (TLS) à %(server)s a échoué : certificat non reconnu, "
                    "nom de serveur différent de celui du certificat, ou pas de TLS sur ce port."
                )
                % {"server": server}
            )
        if isinstance(
            error,
            ldap_errors.LDAPSocketReceiveError
            | ldap_errors.LDAPSocketSendError
            | ldap_errors.LDAPSessionTerminatedByServerError,
        ):
            return DirectoryProtocolError(
                _(
                    "Le serveur %(server)s a coupé la connexion : ce n'est peut-être pas un "
                    "annuaire LDAP, ou il n'accepte que ldaps://."
                )
                % {"server": server}
            )
        if isinstance(error, ldap_errors.LDAPCommunicationError | OSError):
            return DirectoryUnreachable(
                _(
                    "Le serveur d'annuaire %(server)s est injoignable (connexion refusée ou nom "
                    "inconnu)."
                )
                % {"server": server}
            )
        return DirectoryProtocolError(
            _("Le serveur %(server)s ne répond pas comme un annuaire LDAP.") % {"server": server}
        )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it was raised from (ldap3 wraps socket and TLS errors)."""
    cause: BaseException | None = error
    seen = 0
    while cause is not None and seen < 10:
        yield cause
        cause, seen = cause.__cause__ or cause.__context__, seen + 1


def _is_entry(item: Mapping[str, object]) -> bool:
    # Searches also return references to other servers (searchResRef): not people.
    return item.get("type") == "searchResEntry"


def _entry(item: Mapping[str, object]) -> DirectoryEntry:
    raw = item.get("raw_attributes")
    if not isinstance(raw, Mapping):
        raw = {}
    attributes = {
        str(name).lower(): tuple(
            value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
            for value in values
        )
        for name, values in raw.items()
    }
    return DirectoryEntry(dn=str(item.get("dn", "")), attributes=attributes)
