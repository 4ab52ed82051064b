from django.apps import AppConfig


class PromisesConfig(AppConfig):
    name = "promises"

    def ready(self):
        # Receivers that mark pools dirty when supply or demand changes; the ports' checks.
        from promises import checks, signals  # noqa: F401
