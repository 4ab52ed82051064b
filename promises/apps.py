from django.apps import AppConfig


class PromisesConfig(AppConfig):
    name = "promises"

    def ready(self):
        # Receivers that mark pools dirty when supply or demand changes.
        from promises import lookups, signals  # noqa: F401  (field__any; the receivers)
