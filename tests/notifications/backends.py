"""E-mail backends that misbehave the way real mail servers and workers do."""

from smtplib import SMTPServerDisconnected

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    """A mail server that is down: every send raises, nothing leaves."""

    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("Connection unexpectedly closed")


class WorkerKilled(BaseException):
    """Stands for the worker process dying (SIGKILL, OOM): nothing after it runs."""


class KilledAfterSendBackend(BaseEmailBackend):
    """The message reaches the server, then the worker dies before it can record that."""

    def send_messages(self, email_messages):
        mail.outbox.extend(email_messages)
        raise WorkerKilled()
