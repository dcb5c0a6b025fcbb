"""Telephony directories of establishments (LDAP) and their sync."""

__all__: list[str] = []
