from django.apps import AppConfig


class PromisesConfig(AppConfig):
    name = "promises"

    def ready(self):
        # Receivers that mark pools dirty when supply or demand changes.
        from django_q.signals import post_spawn

        from promises import lookups, signals  # noqa: F401  (field__any; the receivers)
        from promises.warmup import worker_warm

        post_spawn.connect(worker_warm, dispatch_uid="promises.worker_warm")
