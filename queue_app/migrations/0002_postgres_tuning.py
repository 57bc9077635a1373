"""PostgreSQL only: vacuum the hot job table early so dead tuples from status changes don't pile up."""
from django.db import migrations

JOB_TABLE_OPTIONS = (
    "autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, "
    "autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_limit = 2000, fillfactor = 85"
)


def tune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE queue_app_job SET ({JOB_TABLE_OPTIONS})")
    schema_editor.execute("ALTER TABLE queue_app_tally SET (autovacuum_vacuum_scale_factor = 0.05)")


def untune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE queue_app_job RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
        "autovacuum_analyze_scale_factor, autovacuum_vacuum_cost_limit, fillfactor)")
    schema_editor.execute("ALTER TABLE queue_app_tally RESET (autovacuum_vacuum_scale_factor)")


class Migration(migrations.Migration):
    dependencies = [("queue_app", "0001_initial")]
    operations = [migrations.RunPython(tune, untune, elidable=False)]
