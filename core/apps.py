from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Plumbing every app may use: errors, fast database paths, task enqueueing (no models)."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from core import lookups  # noqa: F401  (registers the `__any` lookup on every field)
