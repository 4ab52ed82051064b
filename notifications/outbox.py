"""The notice outbox as the workflow sees it (workflow.notices.NoticeOutbox)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from notifications import services
from notifications.models import Notice


class Outbox:
    """Write, foresee and withdraw customer notices for the workflow (notifications.services)."""

    def queue(self, requests, *, now: datetime) -> dict[str, str]:
        return services.notices_queue(requests=requests, now=now)

    def foresee(self, requests) -> dict[str, str]:
        return services.notice_states_foresee(requests=requests)

    def withdraw(self, *, line_ids: Iterable[int], kinds: Iterable[str], now: datetime,
                 versions: dict[int, int] | None = None) -> int:
        return services.notices_withdraw(line_ids=line_ids, kinds=kinds, now=now, versions=versions)

    def lines_closed(self, *, line_ids: Iterable[int], now: datetime) -> int:
        return services.notices_withdraw(line_ids=list(line_ids), kinds=Notice.SUPERSEDABLE_KINDS, now=now)

    def backorder_confirm(self, *, order, lines, now: datetime) -> dict[str, str]:
        return services.backorder_confirmation_queue(order=order, lines=lines, now=now)
