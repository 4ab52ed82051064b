"""Available-to-promise and atomic order intake."""

from django.dispatch import Signal

#: Sent inside the intake transaction once an order and its promises are written
#: (kwargs: order, lines). The notices app queues the backorder confirmation from it.
order_placed = Signal()
