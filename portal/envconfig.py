"""Strict reading of settings from the environment.

django-environ quietly turns an unknown boolean such as ``PORTAL_DEMO=oui`` into False; a
misread flag on a health-data portal (MFA off, debug on) is worse than a refusal to start, so
every reader here fails with ``ImproperlyConfigured`` naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on", "oui", "vrai"}
_FALSE = {"0", "false", "no", "off", "non", "faux", ""}


def _raw(name: str) -> str | None:
    return os.environ.get(name)


def _fail(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"Variable d'environnement {name} invalide : « {value} » ({expected})."
    )


def env_bool(name: str, default: bool) -> bool:
    """A boolean; accepts true/false, yes/no, on/off, 1/0 (and French oui/non)."""
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _fail(name, value, "attendu : true ou false")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer, optionally bounded below."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise _fail(name, value, "attendu : un nombre entier") from None
    if minimum is not None and number < minimum:
        raise _fail(name, value, f"attendu : au moins {minimum}")
    return number


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None or value.strip() == "" else value.strip()


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise _fail(name, value, "attendu : " + ", ".join(choices))
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str, default: str | None = None) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker/systemd style)."""
    value = _raw(name)
    path = _raw(f"{name}_FILE")
    if value and path:
        raise ImproperlyConfigured(
            f"{name} et {name}_FILE sont tous deux définis : n'en gardez qu'un."
        )
    if path:
        try:
            secret = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"Variable d'environnement {name}_FILE invalide : impossible de lire « {path} » "
                f"({exc.strerror})."
            ) from None
        if not secret:
            raise ImproperlyConfigured(
                f"Variable d'environnement {name}_FILE : le fichier « {path} » est vide."
            )
        return secret
    return value if value else default


def env_database(name: str, default: str | None) -> dict[str, Any]:
    """A database URL (``postgres://…``, ``sqlite:///…``) as a Django DATABASES entry."""
    value = _raw(name) or default
    if not value:
        raise ImproperlyConfigured(
            f"Variable d'environnement {name} manquante (URL PostgreSQL attendue)."
        )
    try:
        config: dict[str, Any] = environ.Env.db_url_config(value)
    except Exception:
        raise _fail(name, value, "attendu : une URL postgres://… ou sqlite:///…") from None
    if not config.get("ENGINE") or not config.get("NAME"):
        raise _fail(name, value, "attendu : une URL postgres://… ou sqlite:///…")
    return config


def env_url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    """A URL whose scheme is one of ``schemes`` (for Redis, say)."""
    from urllib.parse import urlsplit

    value = env_str(name, default)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise _fail(
            name, value, "attendu : une URL " + " ou ".join(f"{s}://…" for s in schemes)
        ) from None
    if parts.scheme not in schemes or not (parts.hostname or parts.path):
        raise _fail(name, value, "attendu : une URL " + " ou ".join(f"{s}://…" for s in schemes))
    return value
