"""PostgreSQL tells every process when what an access decision is made of changes: a
notification on ``access_facts_changed`` (``access.fact_cache.CHANNEL``), sent at commit, after
any write to the tables the decision's facts are read from (``access.facts``). The processes
serving the archive's callback then forget the facts they keep (``access.fact_cache``).

Where only some columns matter (a token's last use is written once a minute, a user's last
login at each sign-in), the trigger is on those columns' changes. Nothing on SQLite (the demo
keeps no facts).
"""

from django.db import migrations

CHANNEL = "access_facts_changed"  # access.fact_cache.CHANNEL when this migration was written
FUNCTION = "access_facts_changed"

# (app, model, columns whose change matters: None for any write). A new token or user has no
# facts kept yet; deleting one does.
WATCHED = (
    ("access", "ViewerToken", ("revoked_at", "expires_at", "user_id", "study_id")),
    ("portal", "User", ("is_active",)),
    ("practitioners", "Practitioner", ("user_id",)),
    ("practitioners", "Accreditation", None),
    ("practitioners", "PracticeSite", None),
    ("access", "Opposition", None),
    ("access", "AccessGrant", None),
    ("access", "BreakGlassAccess", None),
)


def _statements(apps):
    yield (
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for app, model, columns in WATCHED:
        table = apps.get_model(app, model)._meta.db_table
        if columns is None:
            yield (
                f"CREATE TRIGGER {table}_facts_changed AFTER INSERT OR UPDATE OR DELETE OR "
                f"TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            )
            continue
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        yield (
            f"CREATE TRIGGER {table}_facts_changed AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION {FUNCTION}()"
        )
        yield (
            f"CREATE TRIGGER {table}_facts_removed AFTER DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in _statements(apps):
            cursor.execute(statement)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for app, model, _columns in WATCHED:
            table = apps.get_model(app, model)._meta.db_table
            for suffix in ("facts_changed", "facts_removed"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix} ON {table}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0003_patient_access_codes"),
        ("portal", "0003_api_key"),
        ("practitioners", "0003_accreditation_requests_and_history"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
