"""Refusals of the workflow's services: the customer or agent acted on stale state."""

from __future__ import annotations

from core.errors import BusinessRefusal


class OfferSuperseded(BusinessRefusal):
    """The customer answered a delay offer whose date has changed since."""

    def __init__(self, message="The date in this offer has changed since it was sent."):
        super().__init__(message, code="offer_superseded")


class LineClosed(BusinessRefusal):
    def __init__(self, message="This item has already shipped or been cancelled."):
        super().__init__(message, code="line_closed")
