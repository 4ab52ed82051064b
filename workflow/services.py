"""The regional workflow's services: the public face of the `workflow` app.

A slip is judged by the region's policy (workflow/policies, rules in
docs/regional-rules.md): the US measures shipment (16 CFR 435), the EU and UK delivery
(Directive 2011/83/EU art. 18, CRA 2015 s.28). The workflow raises, updates and resolves
OrderException rows, records consents and cancels lines through workflow.fulfilment.

Re-promising and intake (promises, below) call the workflow through their port
(promises.ports, implemented by workflow.ports). The workflow tells customers through the
outbox port (workflow.notices.NoticeOutbox, implemented by notifications.outbox), which
answers with each notice's state ("held", "queued", ...) inside the caller's transaction;
when a notice went out, notifications calls `notice_delivered` back.

The modules: `facts` (what the database says of a slip), `assessment` (re-promised lines
judged), `exceptions_store` (the bulk writer of exception rows), `notices` (the outbox port
and notice requests), `consent`, `closing`, `fulfilment` (shipments, cancellations),
`sweeps` (scheduled jobs), `actions` (the exception queue's buttons) and `admin`. Callers
use this module: `from workflow import services as workflow`.
"""

import logging

from workflow.actions import (
    exception_alternative_offer,
    exception_assign,
    exception_cancel_refund,
    exception_consent_record,
    exception_goodwill_credit,
    exception_note_add,
    exception_notice_send_now,
    exception_split_ship,
)
from workflow.assessment import (
    CAUSE_LABELS,
    Assessment,
    changes_carried,
    large_slip_parts,
    lines_assess,
    promise_changes_assess,
    recorded_changes_assess,
)
from workflow.closing import line_closed
from workflow.consent import ConsentResult, cancellation_notices_request, consent_record
from workflow.exceptions_store import COPY_MIN_ROWS, Kind, Status
from workflow.facts import (
    UNKNOWN_REASON,
    announced_for,
    decision_context,
    delay_notices_sent,
    express_consents,
    measured,
    promises_against_told,
    region_today,
    slip_facts,
)
from workflow.notices import (
    DELAY_NOTICE_KINDS,
    NoticeRequest,
    notice_delivered,
    notice_outbox,
    notices_foresee,
    notices_request,
)
from workflow.refusals import LineClosed, OfferSuperseded
from workflow.regional import regional_policy
from workflow.sweeps import consent_deadlines_enforce, past_due_sweep, slips_sweep

log = logging.getLogger(__name__)

__all__ = [
    "CAUSE_LABELS",
    "COPY_MIN_ROWS",
    "DELAY_NOTICE_KINDS",
    "UNKNOWN_REASON",
    "Assessment",
    "ConsentResult",
    "Kind",
    "LineClosed",
    "NoticeRequest",
    "OfferSuperseded",
    "Status",
    "announced_for",
    "cancellation_notices_request",
    "changes_carried",
    "consent_deadlines_enforce",
    "consent_record",
    "decision_context",
    "delay_notices_sent",
    "exception_alternative_offer",
    "exception_assign",
    "exception_cancel_refund",
    "exception_consent_record",
    "exception_goodwill_credit",
    "exception_note_add",
    "exception_notice_send_now",
    "exception_split_ship",
    "express_consents",
    "large_slip_parts",
    "line_closed",
    "lines_assess",
    "measured",
    "notice_delivered",
    "notices_foresee",
    "notices_request",
    "notice_outbox",
    "past_due_sweep",
    "promise_changes_assess",
    "promises_against_told",
    "recorded_changes_assess",
    "region_today",
    "regional_policy",  # notifications.services reads workflow.regional_policy
    "slip_facts",
    "slips_sweep",
]
