"""Encryption of the archive passwords the portal stores (Fernet, key derived from SECRET_KEY).

The key is derived, not stored: rotating ``SECRET_KEY`` makes stored passwords unreadable, and
the source's page then asks for the password again rather than failing obscurely.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

_CONTEXT = b"imaging.archive-source.password:"


class UnreadableSecret(Exception):
    """The stored secret was encrypted with another key (``SECRET_KEY`` changed)."""


def _fernet() -> Fernet:
    digest = hashlib.sha256(_CONTEXT + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(value: str) -> str:
    """The encrypted, printable form of ``value`` (empty stays empty)."""
    if not value:
        return ""
    return _fernet().encrypt(value.encode()).decode("ascii")


def decrypt_secret(token: str) -> str:
    """The clear value of ``encrypt_secret``'s output; raises ``UnreadableSecret``."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise UnreadableSecret from exc
