"""The regional workflow as re-promising and intake call it (promises.ports.Workflow)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime

from django.conf import settings

from core.queue import enqueue_on_commit
from inventory.models import Channel, Region
from workflow.assessment import (
    changes_carried,
    large_slip_parts,
    lines_assess,
    promise_changes_assess,
)
from workflow.facts import (
    delay_notices_sent,
    express_consents,
    lines_facts,
    region_today,
    slip_facts,
)
from workflow.notices import notice_outbox
from workflow.policies import SlipDecision, policy_class_for
from workflow.regional import regional_policy


class RegionalWorkflow:
    """Judge changed promises by each region's policy and tell customers of backorders."""

    def promise_changes_assess(self, *, changes, now: datetime) -> None:
        limit = settings.BACKORDER_DESK.get("WORKFLOW_INLINE_MAX_LINES")
        if limit is not None and len(changes) > limit:
            # A very large slip: promises commit first, the workflow follows in tasks of its
            # own, one per part, so that every worker of the main cluster takes a share.
            # Each task carries its lines' changes, so it need not read them back. A part
            # that succeeds is not kept among django-q2's successful tasks (its failure
            # is): its arguments run to tens of kilobytes, and the cluster's monitor reads
            # every kept success each time it records a task (docs/operations.md).
            carried = changes_carried(changes)
            for line_ids in large_slip_parts(changes):
                enqueue_on_commit("workflow.tasks.recorded_changes_assess", line_ids,
                                  [carried[i] for i in line_ids], dedupe=False, save=False)
            return
        promise_changes_assess(changes=changes, now=now)

    def lines_assess(self, *, line_ids: list[int], now: datetime, placed=None) -> None:
        lines_assess(line_ids=line_ids, now=now, placed=placed)

    def order_placed(self, *, order, lines, now: datetime) -> None:
        notice_outbox().backorder_confirm(order=order, lines=lines, now=now)

    def measures_delivery(self, *, region_code: str) -> bool:
        return policy_class_for(region_code).measure == "delivery"

    def moves_foresee(self, *, moves, now: datetime) -> list[str]:
        """Say, per region, what the proposed later promises would set off: each line judged
        by its region's policy as a real slip would be (notices, consent, cancellation)."""
        by_line = {move.line_id: move for move in moves}
        lines = lines_facts(list(by_line), regions={r.pk: r for r in Region.objects.all()},
                            channels={c.pk: c for c in Channel.objects.all()})
        sent, consents = delay_notices_sent(list(by_line)), express_consents(list(by_line))
        moved: dict[str, int] = defaultdict(int)
        decisions: dict[str, list[SlipDecision]] = defaultdict(list)
        for line in lines:
            region = line.order.region
            policy, move = regional_policy(region.code), by_line[line.pk]
            moved[region.code] += 1
            promise = replace(line.promise, ship_date=move.ship_date, delivery_to=move.delivery_to,
                              confirmed=move.confirmed)
            facts = slip_facts(line=line, promise=promise, today=region_today(region, now),
                               delay_notices_sent=sent.get(line.pk, 0),
                               express_consent=(line.pk, line.promise.version) in consents)
            if policy.is_slip(facts):
                decisions[region.code].append(policy.decide(facts))
        return [consequence_text(code, moved[code], decisions[code]) for code in sorted(moved)]


def consequence_text(region: str, moved: int, decisions: list[SlipDecision]) -> str:
    """One sentence on what a region's slips set off, from its policy's decisions."""
    if not decisions:
        return f"{region}: {moved} later, all within the date the customer was told; nothing is due."
    measure = "ship" if decisions[0].measures == "shipment" else "delivery"
    parts = [f"{region}: {len(decisions)} of {moved} later past the {measure} date the customer was told; "
             f"delay notice due by {min(d.notice_due_by for d in decisions)}"]
    overdue = sum(d.notice_overdue for d in decisions)
    if overdue:
        parts.append(f"{overdue} already overdue")
    consent = [d for d in decisions if d.express_consent_required]
    if consent:
        cancel = sorted(d.cancel_on for d in consent if d.cancel_on)
        text = f"{len(consent)} need the customer's express consent"
        parts.append(text + (f", else cancelled from {cancel[0]}" if cancel else ""))
    elif all(d.silence_is_consent for d in decisions):
        parts.append("the customer's silence accepts the new date")
    terminate = sum(d.customer_may_terminate_now for d in decisions)
    if terminate and not consent:
        parts.append(f"{terminate} customers may cancel at once")
    additional = sum(d.customer_may_set_additional_period for d in decisions)
    if additional:
        parts.append(f"{additional} may set an additional period for delivery")
    citations = sorted({c for d in decisions for c in d.citations})
    return "; ".join(parts) + f" ({', '.join(citations)})."
