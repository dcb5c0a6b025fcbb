"""Archive passwords, encrypted through portal.secrets under their own purpose."""

from __future__ import annotations

from portal import secrets
from portal.secrets import UnreadableSecret

__all__ = ["UnreadableSecret", "decrypt_secret", "encrypt_secret"]

_PURPOSE = "imaging.archive-source.password"


def encrypt_secret(value: str) -> str:
    return secrets.encrypt_secret(value, purpose=_PURPOSE)


def decrypt_secret(token: str) -> str:
    return secrets.decrypt_secret(token, purpose=_PURPOSE)
