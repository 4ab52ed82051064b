"""Promise rows written directly, for report tests that need exact dates."""

from datetime import UTC, date, datetime

import factory
from factory.django import DjangoModelFactory

from promises.models import Promise, PromiseChange
from tests.factories.orders import OrderLineFactory


class PromiseFactory(DjangoModelFactory):
    class Meta:
        model = Promise

    line = factory.SubFactory(OrderLineFactory)
    ship_date = date(2026, 7, 1)
    delivery_from = factory.LazyAttribute(lambda o: o.ship_date)
    delivery_to = factory.LazyAttribute(lambda o: o.ship_date)
    confirmed = True
    stock_qty = 0
    strategy = "redistribute"
    computed_at = factory.LazyFunction(lambda: datetime.now(UTC))


class PromiseChangeFactory(DjangoModelFactory):
    class Meta:
        model = PromiseChange

    line = factory.SubFactory(OrderLineFactory)
    order = factory.LazyAttribute(lambda o: o.line.order)
    new_confirmed = True
    cause = PromiseChange.Cause.PO_CHANGE
    version = 2
    at = factory.LazyFunction(lambda: datetime.now(UTC))
