"""The whole way in, in a real browser: a director declares their establishment, the regional
administrator approves, the director signs a purchase order, the administrator countersigns,
and the director downloads the PDF, whose text is read back with pdftotext."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest

from billing.models import PurchaseOrder
from establishments.models import Establishment
from portal.roles import Role
from portal.services import user_grant_group_role
from tests.billing.factories import make_price_list
from tests.browser_support import confirm_identity_if_asked, screenshot, sign_in
from tests.establishments.factories import PDF_BYTES
from tests.factories import PASSWORD, UserFactory, enrol_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_director_signs_up_orders_and_downloads_the_countersigned_pdf(
    browser, live_server, tmp_path: Path, settings, offers
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private", "base_url": None},
        },
    }
    admin = UserFactory(email="claire.martin@ars.test", first_name="Claire", last_name="Martin")
    user_grant_group_role(user=admin, role=Role.REGIONAL_ADMIN)
    admin_secret = enrol_totp(admin)
    director = UserFactory(email="marc.schmitt@chr.test", first_name="Marc", last_name="Schmitt")
    director_secret = enrol_totp(director)
    make_price_list(label="Tarifs régionaux 2026", valid_from=datetime.date(2026, 1, 1))
    proof = tmp_path / "delegation.pdf"
    proof.write_bytes(PDF_BYTES)

    def new_page():
        return browser.new_context(
            locale="fr-FR", base_url=live_server.url, accept_downloads=True
        ).new_page()

    # 1. The future director declares their establishment by hand.
    mine = new_page()
    sign_in(mine, email=director.email, password=PASSWORD, totp_secret=director_secret)
    mine.goto("/adhesion/declarer/")
    mine.fill("#id_finess_eg", "570000059")
    mine.fill("#id_finess_ej", "570005165")
    mine.fill("#id_name", "CHR Metz-Thionville")
    mine.select_option("#id_kind", "chu")
    mine.fill("#id_postal_code", "57530")
    mine.fill("#id_city", "Ars-Laquenexy")
    mine.get_by_label("Votre fonction").fill("Directeur général")
    mine.set_input_files("#id_proof", str(proof))
    mine.get_by_role("button", name="Envoyer ma demande").click()
    mine.wait_for_selector("h1:has-text('Mes demandes')")

    # 2. The regional administrator approves it.
    theirs = new_page()
    sign_in(theirs, email=admin.email, password=PASSWORD, totp_secret=admin_secret)
    theirs.goto("/adhesion/demandes/")
    theirs.get_by_role("link", name="CHR Metz-Thionville").first.click()
    theirs.get_by_role("button", name="Approuver la demande").click()
    theirs.wait_for_load_state()
    establishment = Establishment.objects.get(finess_eg="570000059")
    assert establishment.memberships.filter(user=director, role="director").exists()

    # 3. The director builds and signs an order for the sharing offer.
    mine.goto("/bons-de-commande/nouveau/")
    mine.select_option("#id_establishment", str(establishment.pk))
    mine.check("input[name=offers][value=sharing]")
    mine.fill("#id_estimated_yearly_volume", "12000")
    # Never in the past, whatever day the suite runs.
    start = datetime.date.today() + datetime.timedelta(days=7)
    mine.fill("#id_start_date", start.isoformat())
    mine.wait_for_selector("#estimation:has-text('€')")
    mine.get_by_role("button", name="Enregistrer le brouillon").click()
    mine.wait_for_selector("text=Signer le bon de commande")
    mine.get_by_text("Signer le bon de commande").click()
    confirm_identity_if_asked(mine, password=PASSWORD, totp_secret=director_secret)
    mine.get_by_role("button", name="Signer électroniquement").click()
    mine.wait_for_selector("text=signé")
    order = PurchaseOrder.objects.get(establishment=establishment)
    assert order.status == PurchaseOrder.Status.SIGNED

    # 4. The administrator countersigns.
    theirs.goto("/bons-de-commande/a-contresigner/")
    theirs.get_by_role("link", name=order.number).first.click()
    theirs.get_by_text("Contresigner", exact=True).first.click()
    confirm_identity_if_asked(theirs, password=PASSWORD, totp_secret=admin_secret)
    theirs.get_by_role("button", name="Contresigner électroniquement").click()
    theirs.wait_for_selector("text=En vigueur")
    order.refresh_from_db()
    establishment.refresh_from_db()
    assert order.status == PurchaseOrder.Status.ACTIVE
    assert establishment.status == Establishment.Status.MEMBER

    # 5. The director downloads the final PDF and it says what was agreed, signed by both.
    mine.goto(f"/bons-de-commande/{order.pk}/")
    screenshot(mine, "purchase-order-countersigned")
    with mine.expect_download() as download_info:
        mine.get_by_role("link", name="Contresigné (définitif) (PDF)").click()
    path = tmp_path / "order.pdf"
    download_info.value.save_as(path)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert order.number in text
    assert "CHR Metz-Thionville" in text
    assert "570000059" in text
    assert "Partage" in text  # the offer
    assert "300,00" in text  # 500 € + 12 000 × 0,15 € = 2 300 €
    assert "Marc Schmitt" in text
    assert "Claire Martin" in text
    assert "Page 1 / 1" in text
