"""Secrets the portal must store and read back (archive and directory passwords).

Encrypted with Fernet under a key derived (HKDF-SHA256) from ``SECRET_KEY`` and a purpose, so
each kind of secret has its own key and none is stored. ``SECRET_KEY_FALLBACKS`` keeps old
secrets readable while the key is rotated; past that, the owner is asked to enter them again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class UnreadableSecret(Exception):
    """The stored secret was encrypted under another key (``SECRET_KEY`` changed)."""


def _fernet(purpose: str) -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    HKDF(
                        algorithm=hashes.SHA256(),
                        length=32,
                        salt=None,
                        info=f"portal.secret:{purpose}".encode(),
                    ).derive(str(key).encode())
                )
            )
            for key in keys
        ]
    )


def encrypt_secret(value: str, *, purpose: str) -> str:
    """The encrypted, printable form of ``value`` (empty stays empty)."""
    if not value:
        return ""
    return _fernet(purpose).encrypt(value.encode()).decode("ascii")


def decrypt_secret(token: str, *, purpose: str) -> str:
    """The clear value of ``encrypt_secret``'s output; raises ``UnreadableSecret``."""
    if not token:
        return ""
    try:
        return _fernet(purpose).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise UnreadableSecret from exc
