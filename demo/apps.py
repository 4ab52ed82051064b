from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (`manage.py seed_demo`) and the demo's logins; no models."""

    name = "demo"
    verbose_name = "Demo data"
