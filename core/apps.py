from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Plumbing every app may use: errors, fast database paths, task enqueueing (no models)."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from django.db.backends.signals import connection_created

        from core import lookups  # noqa: F401  (registers the `__any` lookup on every field)
        from core.timestamps import utc_timestamps_load_in_c

        connection_created.connect(utc_timestamps_load_in_c, dispatch_uid="core.timestamps")
