from django.db import migrations

from orders import sync_triggers


def triggers_reinstall(apps, schema_editor):
    sync_triggers.install(schema_editor)


class Migration(migrations.Migration):
    """Reinstall the sync-clock triggers: a change stamped before the clock no longer moves it back."""

    dependencies = [
        ("orders", "0003_order_sync_and_fewer_indexes"),
    ]

    operations = [
        migrations.RunPython(triggers_reinstall, migrations.RunPython.noop),
    ]
