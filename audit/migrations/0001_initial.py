"""The access trail. On PostgreSQL the table is created by hand (partitioned by month, with
its chaining and append-only triggers); elsewhere Django creates it from the model."""

from pathlib import Path

from django.db import migrations, models

SQL = Path(__file__).resolve().parent.parent / "sql"


def create_trail(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.create_model(apps.get_model("audit", "AccessEvent"))
        return
    from audit.partitions import ensure_current_partitions

    # Straight to the cursor: the functions hold '%' that parameter substitution would read.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute((SQL / "chain.sql").read_text())
        cursor.execute((SQL / "table.sql").read_text())
    ensure_current_partitions(using=schema_editor.connection.alias)


def drop_trail(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.delete_model(apps.get_model("audit", "AccessEvent"))
        return
    schema_editor.execute(
        "DROP TABLE audit_accessevent CASCADE;"
        "DROP FUNCTION audit_accessevent_chain();"
        "DROP FUNCTION audit_accessevent_refuse_change();"
    )


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="ChainHead",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("seq", models.BigIntegerField(default=0)),
                ("hash", models.CharField(default="0" * 64, max_length=64)),
            ],
            options={
                "verbose_name": "tête de chaîne",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single")
                ],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')",
            migrations.RunSQL.noop,
        ),
        migrations.CreateModel(
            name="RetentionRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(verbose_name="mois")),
                ("partition", models.CharField(blank=True, max_length=63, verbose_name="partition")),
                ("row_count", models.BigIntegerField(verbose_name="traces")),
                ("first_seq", models.BigIntegerField(null=True, verbose_name="premier rang")),
                ("last_seq", models.BigIntegerField(null=True, verbose_name="dernier rang")),
                ("last_hash", models.CharField(blank=True, max_length=64, verbose_name="dernière empreinte")),
                ("export_path", models.CharField(max_length=500, verbose_name="fichier d'export")),
                ("export_sha256", models.CharField(max_length=64, verbose_name="SHA-256 de l'export")),
                ("retention_months", models.PositiveSmallIntegerField(verbose_name="durée de conservation (mois)")),
                ("ran_at", models.DateTimeField(auto_now_add=True, verbose_name="exécuté le")),
            ],
            options={
                "verbose_name": "purge de traces",
                "verbose_name_plural": "purges de traces",
                "ordering": ("-month",),
                "constraints": [
                    models.UniqueConstraint(fields=("month",), name="audit_retention_month")
                ],
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AccessEvent",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("chain_seq", models.BigIntegerField(editable=False, null=True, verbose_name="rang dans la chaîne")),
                        ("recorded_at", models.DateTimeField(verbose_name="date (UTC)")),
                        ("actor_id", models.BigIntegerField(blank=True, null=True, verbose_name="utilisateur")),
                        ("actor_label", models.CharField(blank=True, max_length=254, verbose_name="acteur")),
                        ("actor_role", models.CharField(choices=[("patient", "Patient"), ("practitioner", "Professionnel de santé"), ("other", "Autre utilisateur"), ("anonymous", "Anonyme")], max_length=16, verbose_name="rôle de l'acteur")),
                        ("actor_practitioner_id", models.BigIntegerField(blank=True, null=True, verbose_name="professionnel")),
                        ("patient_id", models.BigIntegerField(blank=True, null=True, verbose_name="patient")),
                        ("study_id", models.BigIntegerField(blank=True, null=True, verbose_name="examen")),
                        ("study_instance_uid", models.CharField(blank=True, max_length=64, verbose_name="StudyInstanceUID")),
                        ("establishment_id", models.BigIntegerField(blank=True, null=True, verbose_name="établissement producteur")),
                        ("action", models.CharField(choices=[("read", "Consultation"), ("list", "Liste"), ("search", "Recherche"), ("download", "Téléchargement"), ("export", "Export")], max_length=16, verbose_name="action")),
                        ("channel", models.CharField(choices=[("web", "Portail web"), ("api", "API"), ("archive", "Archive (visionneuse)"), ("export", "Export")], max_length=16, verbose_name="canal")),
                        ("granted", models.BooleanField(verbose_name="accordé")),
                        ("rule", models.CharField(choices=[("patient_self", "Le patient lui-même"), ("not_authenticated", "Utilisateur non connecté"), ("not_accredited", "Pas d'habilitation en cours"), ("care_team", "Équipe de soins de l'établissement producteur"), ("opposition", "Opposition du patient au partage"), ("grant", "Autorisation d'accès"), ("break_glass", "Accès d'urgence (bris de glace)"), ("no_right", "Aucun droit d'accès")], max_length=24, verbose_name="règle")),
                        ("purpose", models.CharField(max_length=32, verbose_name="finalité")),
                        ("grant_id", models.BigIntegerField(blank=True, null=True, verbose_name="autorisation")),
                        ("break_glass_id", models.BigIntegerField(blank=True, null=True, verbose_name="accès d'urgence")),
                        ("source_ip", models.GenericIPAddressField(blank=True, null=True, verbose_name="adresse IP")),
                        ("prev_hash", models.CharField(editable=False, max_length=64, verbose_name="empreinte précédente")),
                        ("hash", models.CharField(editable=False, max_length=64, verbose_name="empreinte")),
                    ],
                    options={
                        "verbose_name": "trace d'accès",
                        "verbose_name_plural": "traces d'accès",
                        "ordering": ("-recorded_at", "-id"),
                        "indexes": [
                            models.Index(fields=["patient_id", "recorded_at"], name="audit_event_patient"),
                            models.Index(fields=["actor_id", "recorded_at"], name="audit_event_actor"),
                            models.Index(fields=["establishment_id", "recorded_at"], name="audit_event_establishment"),
                            models.Index(fields=["recorded_at"], name="audit_event_recorded"),
                            models.Index(fields=["chain_seq"], name="audit_event_chain"),
                            models.Index(condition=models.Q(break_glass_id__isnull=False), fields=["break_glass_id"], name="audit_event_break_glass"),
                        ],
                    },
                ),
            ],
        ),
        # After the state holds the model, so that SQLite's path can build it from there.
        migrations.RunPython(create_trail, drop_trail),
    ]
