"""django-q2 entry points: re-fetch by id, idempotent, safe to run twice at once."""

import logging
from datetime import date, timedelta

from django.utils import timezone

from core.queue import coalesced_run_started
from core.urgency import urgent_work_running
from notifications import services
from workflow import services as workflow

log = logging.getLogger(__name__)


def _day(today):
    return date.fromisoformat(today) if isinstance(today, str) else today


def notices_send_due():
    """Send pending notices and retry failed ones that are due (the outbox drain)."""
    coalesced_run_started(services.SEND_TASK)  # before reading: later notices enqueue anew
    return services.notices_send_due()


def notice_send(notice_id: int):
    """Send one notice (at most once)."""
    return services.notice_send(notice_id=notice_id)


def consent_deadlines_enforce(today=None):
    """US: cancel lines whose express-consent deadline passed (16 CFR 435.2(c)(2)/(3))."""
    cancelled = workflow.consent_deadlines_enforce(today=_day(today))
    log.info("consent deadlines: %s lines cancelled", len(cancelled))
    return {"cancelled": len(cancelled)}


def past_due_sweep(today=None):
    """Cancel US lines past T without a notice (435.2(c)(5)); flag EU/UK late deliveries."""
    cancelled = workflow.past_due_sweep(today=_day(today))
    log.info("past-due sweep: %s lines cancelled", len(cancelled))
    return {"cancelled": len(cancelled)}


def slips_sweep():
    """Re-assess slipped lines no exception covers yet (renewed notices before a date is missed)."""
    results = workflow.slips_sweep(also=services.lines_unnoticed())
    return {"assessed": len(results)}


#: The catch-up leaves alone promises computed more recently than this: their own assessment
#: may still be queued behind other tasks.
CATCH_UP_SETTLE = timedelta(seconds=30)


def owed_notices_catch_up():
    """Every minute: write the notices a stopped worker owed (what the slip sweep finds:
    slips no exception covers, notices never written), so they are written within two
    minutes of the workers coming back, not at the next 15-minute sweep.

    Skipped while a re-promise or a slip's assessment runs (core.urgency): it writes its
    own, and the next minute looks again. Otherwise nothing is on its way (a large slip's
    deferred assessment holds that signal until its notices are written), so notices
    missing for more than CATCH_UP_SETTLE count, not only after the sweep's two minutes.
    """
    if urgent_work_running():
        return {"skipped": "urgent work running"}
    settled = timezone.now() - CATCH_UP_SETTLE
    unnoticed = services.lines_unnoticed(now=settled + services.UNNOTICED_AFTER)
    results = workflow.slips_sweep(also=unnoticed, settled_before=settled)
    if results:
        log.warning("owed notices catch-up: %s lines assessed again", len(results))
    return {"assessed": len(results)}


def held_notices_release():
    """Send held delay notices whose legal deadline is near (a hold never outlasts the law)."""
    return {"released": len(services.held_notices_release())}
