"""The printed sheet that hands a patient their access code (WeasyPrint, PDF/A-3b, French).

The sheet carries the code itself, so it is rendered for the response that issued the code
and never stored: the portal keeps only the code's keyed hash.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from access.activation import IssuedCode

TEMPLATE = "access/pdf/access_code.html"
PDF_VARIANT = "pdf/a-3b"


def access_code_handout(*, issued: IssuedCode) -> bytes:
    """The A4 sheet of ``issued``: who it is for, the code, how to use it, until when."""
    from weasyprint import HTML

    record = issued.record
    context = {
        "code": issued.code,
        "patient": record.patient,
        "establishment": record.establishment,
        "expires_at": record.expires_at,
        "issued_at": record.issued_at,
        "activation_url": f"{settings.PORTAL_BASE_URL}{reverse('patient_portal:activate')}",
        "max_failures": settings.PATIENT_ACCESS_CODE_MAX_FAILURES,
    }
    with translation.override("fr"), timezone.override(settings.TIME_ZONE):
        html = render_to_string(TEMPLATE, context)
    return bytes(HTML(string=html).write_pdf(pdf_variant=PDF_VARIANT))
