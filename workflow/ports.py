"""The regional workflow as re-promising and intake call it (promises.ports.Workflow)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from core.queue import enqueue_on_commit
from workflow.assessment import (
    changes_carried,
    large_slip_parts,
    lines_assess,
    promise_changes_assess,
)
from workflow.notices import notice_outbox


class RegionalWorkflow:
    """Judge changed promises by each region's policy and tell customers of backorders."""

    def promise_changes_assess(self, *, changes, now: datetime) -> None:
        limit = settings.BACKORDER_DESK.get("WORKFLOW_INLINE_MAX_LINES")
        if limit is not None and len(changes) > limit:
            # A very large slip: promises commit first, the workflow follows in tasks of its
            # own, one per part, so that every worker of the main cluster takes a share.
            # Each task carries its lines' changes, so it need not read them back.
            carried = changes_carried(changes)
            for line_ids in large_slip_parts(changes):
                enqueue_on_commit("workflow.tasks.recorded_changes_assess", line_ids,
                                  [carried[i] for i in line_ids], dedupe=False)
            return
        promise_changes_assess(changes=changes, now=now)

    def lines_assess(self, *, line_ids: list[int], now: datetime) -> None:
        lines_assess(line_ids=line_ids, now=now)

    def order_placed(self, *, order, lines, now: datetime) -> None:
        notice_outbox().backorder_confirm(order=order, line_ids=[line.pk for line in lines], now=now)
