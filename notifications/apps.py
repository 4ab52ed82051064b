from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Customer notices"

    def ready(self):
        # The regional workflow and the outbox listen to promises and orders.
        from notifications import signals  # noqa: F401
