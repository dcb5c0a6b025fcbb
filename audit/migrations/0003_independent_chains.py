"""The trail becomes 16 independent hash chains (audit.chain.CHAINS): each row carries its
``chain``, the hash covers it, the chain head has one row per chain, and each purged month keeps
one anchor per chain (``RetentionAnchor``).

A database created from scratch already has the new table and trigger (0001 reads
audit/sql/); an older one gets the column (its rows go to chain 1), the index on (chain,
chain_seq) and the new trigger here. Rows written before this migration were hashed without
the chain number: ``verify_audit_chain`` reports them as altered. No trail was kept in service
before it; a development or benchmark database is emptied or seeded again.
"""

from pathlib import Path

from django.db import migrations, models
import django.db.models.deletion

SQL = Path(__file__).resolve().parent.parent / "sql"
CHAINS = 16  # audit.chain.CHAINS when this migration was written
GENESIS_HASH = "0" * 64


def upgrade_trail(apps, schema_editor):
    AccessEvent = apps.get_model("audit", "AccessEvent")
    if schema_editor.connection.vendor != "postgresql":
        # SQLite rebuilds the table from the new state (column, index, check); existing rows
        # take chain 1, the demo's only chain.
        field = AccessEvent._meta.get_field("chain").clone()
        field.set_attributes_from_name("chain")
        field.default = 1
        schema_editor.add_field(AccessEvent, field)
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = 'audit_accessevent'::regclass "
            "AND attname = 'chain' AND NOT attisdropped"
        )
        if cursor.fetchone() is None:
            # Instant on PostgreSQL 11+ (a constant default), then no default: the trigger
            # sets every new row's chain.
            cursor.execute(
                "ALTER TABLE audit_accessevent ADD COLUMN chain smallint NOT NULL DEFAULT 1"
            )
            cursor.execute("ALTER TABLE audit_accessevent ALTER COLUMN chain DROP DEFAULT")
            cursor.execute(
                "ALTER TABLE audit_accessevent ADD CONSTRAINT audit_event_chain_range "
                f"CHECK (chain BETWEEN 1 AND {CHAINS})"
            )
            cursor.execute("DROP INDEX audit_event_chain")
            cursor.execute(
                "CREATE INDEX audit_event_chain ON audit_accessevent (chain, chain_seq)"
            )
        # Straight to the cursor: the functions hold '%' that parameter substitution would read.
        cursor.execute((SQL / "chain.sql").read_text())


def create_heads(apps, schema_editor):
    ChainHead = apps.get_model("audit", "ChainHead")
    existing = set(ChainHead.objects.values_list("pk", flat=True))
    ChainHead.objects.bulk_create(
        ChainHead(pk=chain, seq=0, hash=GENESIS_HASH)
        for chain in range(1, CHAINS + 1)
        if chain not in existing
    )


def anchor_past_purges(apps, schema_editor):
    """Purges made while the trail was one chain anchored it, in what is now chain 1."""
    RetentionRun = apps.get_model("audit", "RetentionRun")
    RetentionAnchor = apps.get_model("audit", "RetentionAnchor")
    RetentionAnchor.objects.bulk_create(
        RetentionAnchor(
            run=run,
            chain=1,
            row_count=run.row_count,
            first_seq=run.first_seq,
            last_seq=run.last_seq,
            last_hash=run.last_hash,
        )
        for run in RetentionRun.objects.filter(first_seq__isnull=False, last_seq__isnull=False)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_audit_reads"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="chainhead", name="audit_head_single"),
        migrations.AlterField(
            model_name="chainhead",
            name="id",
            field=models.PositiveSmallIntegerField(primary_key=True, serialize=False),
        ),
        migrations.AddConstraint(
            model_name="chainhead",
            constraint=models.CheckConstraint(
                condition=models.Q(id__range=(1, CHAINS)), name="audit_head_chain"
            ),
        ),
        migrations.RunPython(create_heads, migrations.RunPython.noop),
        # The trail's table is hand-made on PostgreSQL: the state here, the schema below.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="accessevent",
                    name="chain",
                    field=models.PositiveSmallIntegerField(
                        editable=False, null=True, verbose_name="chaîne"
                    ),
                ),
                migrations.RemoveIndex(model_name="accessevent", name="audit_event_chain"),
                migrations.AddIndex(
                    model_name="accessevent",
                    index=models.Index(fields=["chain", "chain_seq"], name="audit_event_chain"),
                ),
                migrations.AddConstraint(
                    model_name="accessevent",
                    constraint=models.CheckConstraint(
                        condition=models.Q(chain__range=(1, CHAINS)),
                        name="audit_event_chain_range",
                    ),
                ),
            ],
        ),
        # After the state holds the column, so that SQLite's path can build it from there.
        # One-way: rows chained in 16 chains cannot go back to one.
        migrations.RunPython(upgrade_trail),
        migrations.CreateModel(
            name="RetentionAnchor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("chain", models.PositiveSmallIntegerField(verbose_name="chaîne")),
                ("row_count", models.BigIntegerField(verbose_name="traces")),
                ("first_seq", models.BigIntegerField(verbose_name="premier rang")),
                ("last_seq", models.BigIntegerField(verbose_name="dernier rang")),
                ("last_hash", models.CharField(max_length=64, verbose_name="dernière empreinte")),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="anchors",
                        to="audit.retentionrun",
                        verbose_name="purge",
                    ),
                ),
            ],
            options={
                "verbose_name": "ancre de purge",
                "verbose_name_plural": "ancres de purge",
                "ordering": ("run", "chain"),
                "constraints": [
                    models.UniqueConstraint(fields=("run", "chain"), name="audit_anchor_run_chain")
                ],
            },
        ),
        migrations.RunPython(anchor_past_purges, migrations.RunPython.noop),
        migrations.RemoveField(model_name="retentionrun", name="first_seq"),
        migrations.RemoveField(model_name="retentionrun", name="last_seq"),
        migrations.RemoveField(model_name="retentionrun", name="last_hash"),
    ]
