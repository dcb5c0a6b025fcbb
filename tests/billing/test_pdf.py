"""The purchase order PDF: what it says, on every page, and the hashes that bind it."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

import pytest
from django.test import override_settings

from billing.pdf import SignatureData, render_purchase_order
from tests.billing.factories import make_active, make_signed
from tests.billing.helpers import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def located_hospital(hospital):
    hospital.address = "1 allée du Château"
    hospital.postal_code = "57038"
    hospital.city = "Metz"
    hospital.save(update_fields=["address", "postal_code", "city"])
    return hospital


def _read(document) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


def test_the_final_pdf_carries_parties_offers_totals_signatures_pages_and_hash(
    located_hospital, director, regional_admin, price_list, tmp_path
) -> None:
    order = make_active(establishment=located_hospital, director=director, admin=regional_admin)
    document = order.documents.get(kind="countersigned")
    data = _read(document)
    text = pdf_text(data, tmp_path)
    flat = " ".join(text.split())

    # Parties.
    assert "CHR Metz-Thionville" in flat
    assert f"FINESS géographique : {located_hospital.finess_eg}" in flat
    assert f"FINESS juridique : {located_hospital.finess_ej}" in flat
    assert "1 allée du Château" in flat
    assert "57038 Metz" in flat
    assert "GCS e-santé régional" in flat
    # Number, offers, prices, totals (12 000 studies).
    assert f"Bon de commande n° {order.number}" in flat
    assert "PACS" in flat
    assert "Partage d'images" in flat
    assert "1 200,00 €" in flat
    assert "0,40 €" in flat
    assert "6 000,00 €" in flat
    assert "2 300,00 €" in flat
    assert "Total annuel estimé HT 8 300,00 €" in flat
    assert "12 000" in flat
    # Both signatures: who, when, from where.
    assert "Signé électroniquement par Bob Directeur (bob.directeur@chr.test)" in flat
    assert "Contresigné électroniquement par Alice Admin (alice.admin@ars.test)" in flat
    assert "192.0.2.10" in flat
    assert "198.51.100.7" in flat
    signed_document = order.documents.get(kind="signed")
    # The final document names the file the director signed (the hash may wrap).
    assert signed_document.sha256 in flat.replace(" ", "")
    # A footer on every page: page N / M and the content hash.
    pages = [page for page in text.split("\f") if page.strip()]
    assert pages
    for number, page in enumerate(pages, start=1):
        page_flat = " ".join(page.split())
        assert f"Page {number} / {len(pages)}" in page_flat
        assert document.content_sha256 in page_flat.replace(" ", "")


def test_the_signed_pdf_awaits_countersignature(hospital, director, price_list, tmp_path) -> None:
    order = make_signed(establishment=hospital, director=director)
    flat = " ".join(pdf_text(_read(order.documents.get()), tmp_path).split())
    assert "Signé électroniquement par Bob Directeur" in flat
    assert "En attente de contresignature" in flat


def test_recorded_hashes_match_the_stored_file_and_its_content(
    hospital, director, regional_admin, price_list
) -> None:
    order = make_active(establishment=hospital, director=director, admin=regional_admin)
    for document in order.documents.all():
        data = _read(document)
        assert hashlib.sha256(data).hexdigest() == document.sha256
        signature = order.signatures.get(
            role="director" if document.kind == "signed" else "regional_admin"
        )
        assert signature.document_sha256 == document.sha256
        assert hashlib.sha256(document.content_json.encode()).hexdigest() == document.content_sha256
        content = json.loads(document.content_json)
        assert content["number"] == order.number
        assert content["total"] == "8300.00"
        assert content["document"] == document.kind
    final = json.loads(order.documents.get(kind="countersigned").content_json)
    assert [s["ip_address"] for s in final["signatures"]] == ["192.0.2.10", "198.51.100.7"]


def test_it_is_an_archival_pdf_a(hospital, director, price_list, tmp_path) -> None:
    order = make_signed(establishment=hospital, director=director)
    source = tmp_path / "order.pdf"
    source.write_bytes(_read(order.documents.get()))
    metadata = subprocess.run(
        ["pdfinfo", "-meta", str(source)], check=True, capture_output=True, text=True
    ).stdout
    assert re.search(r'pdfaid:part="3"', metadata)
    assert re.search(r'pdfaid:conformance="B"', metadata)


def test_the_countersigning_party_comes_from_settings(
    hospital, director, price_list, tmp_path
) -> None:
    with override_settings(
        BILLING_ISSUER_NAME="GCS Sesan Test", BILLING_ISSUER_ADDRESS="2 rue du Test, 54000 Nancy"
    ):
        order = make_signed(establishment=hospital, director=director)
    flat = " ".join(pdf_text(_read(order.documents.get()), tmp_path).split())
    assert "GCS Sesan Test" in flat
    assert "2 rue du Test, 54000 Nancy" in flat


def test_every_page_of_a_long_document_has_the_footer(
    hospital, director, price_list, tmp_path
) -> None:
    order = make_signed(establishment=hospital, director=director)
    lines = list(order.lines.select_related("offer")) * 40  # enough rows for several pages
    signatures = [SignatureData.of(signature) for signature in order.signatures.all()]
    rendered = render_purchase_order(order=order, lines=lines, signatures=signatures, kind="signed")
    pages = [page for page in pdf_text(rendered.pdf, tmp_path).split("\f") if page.strip()]
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        page_flat = " ".join(page.split())
        assert f"Page {number} / {len(pages)}" in page_flat
        assert rendered.content_sha256 in page_flat.replace(" ", "")
    assert hashlib.sha256(rendered.pdf).hexdigest() == rendered.sha256
