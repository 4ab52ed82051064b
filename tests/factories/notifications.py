"""Factories for the notice outbox."""

from datetime import UTC, datetime

import factory
from factory.django import DjangoModelFactory

from notifications.models import Notice
from tests.factories.orders import OrderLineFactory


class NoticeFactory(DjangoModelFactory):
    class Meta:
        model = Notice

    kind = Notice.Kind.EARLIER_DATE
    status = Notice.Status.PENDING
    line = factory.SubFactory(OrderLineFactory)
    order = factory.LazyAttribute(lambda o: o.line.order)
    region = factory.LazyAttribute(lambda o: o.line.order.region)
    email = factory.LazyAttribute(lambda o: o.line.order.customer.email)
    locale = factory.LazyAttribute(lambda o: o.line.order.customer.locale)
    idempotency_key = factory.Sequence(lambda n: f"test-{n}:earlier_date:1")
    promise_version = 1
    context = factory.LazyFunction(lambda: {"measures": "shipment", "old_date": "2026-12-20",
                                            "new_date": "2026-12-10"})
    created_at = factory.LazyFunction(lambda: datetime.now(UTC))
