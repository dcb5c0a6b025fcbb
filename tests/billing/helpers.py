"""Test helpers for signatures: recent re-authentication and reading PDFs back."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from allauth.account.internal.flows.login import record_authentication
from django.test import Client, RequestFactory

from portal.models import User


def mark_recently_authenticated(client: Client, user: User) -> None:
    """Record in ``client``'s session that ``user`` just typed their password again, as
    allauth's re-authentication page does (``record_authentication(..., reauthenticated=True)``).
    Call after ``client.force_login(user)``."""
    request = RequestFactory().get("/")
    request.user = user
    request.session = client.session
    record_authentication(request, user, method="password", reauthenticated=True)
    request.session.save()


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The text of a PDF (poppler's pdftotext), spaces normalised, pages split by form feed."""
    source = tmp_path / "document.pdf"
    source.write_bytes(data)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(source), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    text = result.stdout.replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"[ \t]+", " ", text)
