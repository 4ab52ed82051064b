from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    """The regional legal workflow and the exception queue: slips judged by each region's
    policy, exceptions with legal deadlines, consents, cancellations and refunds."""

    name = "workflow"
    verbose_name = "Exception queue"

    def ready(self):
        from django_q.signals import post_spawn

        from workflow import checks  # noqa: F401  (the ports' system checks)
        from workflow.warmup import worker_warm

        post_spawn.connect(worker_warm, dispatch_uid="workflow.worker_warm")
