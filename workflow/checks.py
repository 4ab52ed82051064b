"""Startup checks: the notice outbox port names an implementation that has every method."""

from django.core import checks

from promises.checks import port_errors
from workflow.notices import NOTICE_OUTBOX_METHODS


@checks.register()
def notice_outbox_check(app_configs, **kwargs):
    return port_errors("NOTICE_OUTBOX", NOTICE_OUTBOX_METHODS, "workflow.E001")
