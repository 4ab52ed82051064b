"""django-q2 entry points: re-fetch by id, idempotent, safe to run twice at once."""

import logging
from datetime import date

from notifications import services
from workflow import services as workflow

log = logging.getLogger(__name__)


def _day(today):
    return date.fromisoformat(today) if isinstance(today, str) else today


def notices_send_due():
    """Send pending notices and retry failed ones that are due (the outbox drain)."""
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


def held_notices_release():
    """Send held delay notices whose legal deadline is near (a hold never outlasts the law)."""
    return {"released": len(services.held_notices_release())}
