"""The three offers of the platform."""

from django.db import migrations

OFFERS = [
    (
        "pacs",
        "PACS",
        "Stockage et transmission des images (Picture Archiving and Communication System).",
        1,
    ),
    ("archive", "Archivage", "Archivage à long terme des examens d'imagerie.", 2),
    (
        "sharing",
        "Partage d'images",
        "Partage des examens avec les professionnels de santé habilités de la région.",
        3,
    ),
]


def create_offers(apps, schema_editor):
    Offer = apps.get_model("billing", "Offer")
    for code, name, description, position in OFFERS:
        Offer.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "position": position}
        )


def delete_offers(apps, schema_editor):
    # Offers are referenced by protected rows once used; only unused ones can go.
    Offer = apps.get_model("billing", "Offer")
    Offer.objects.filter(code__in=[code for code, *_ in OFFERS]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_catalogue_and_purchase_orders")]

    operations = [migrations.RunPython(create_offers, delete_offers)]
