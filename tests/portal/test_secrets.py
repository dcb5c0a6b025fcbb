"""Stored secrets: readable back, separated by purpose, unreadable after a key change."""

from __future__ import annotations

import pytest

from portal.secrets import UnreadableSecret, decrypt_secret, encrypt_secret


def test_it_reads_back_what_it_encrypted() -> None:
    token = encrypt_secret("mot-de-passe", purpose="a")
    assert "mot-de-passe" not in token
    assert decrypt_secret(token, purpose="a") == "mot-de-passe"


def test_a_secret_of_one_purpose_does_not_open_with_another() -> None:
    with pytest.raises(UnreadableSecret):
        decrypt_secret(encrypt_secret("x", purpose="archive"), purpose="annuaire")


def test_a_new_secret_key_cannot_read_it_unless_the_old_one_is_a_fallback(settings) -> None:
    token = encrypt_secret("x", purpose="a")
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-key-" + "z" * 40
    with pytest.raises(UnreadableSecret):
        decrypt_secret(token, purpose="a")
    settings.SECRET_KEY_FALLBACKS = [old]
    assert decrypt_secret(token, purpose="a") == "x"
