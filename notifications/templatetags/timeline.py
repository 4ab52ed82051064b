"""Template tags that put an order's timeline, and what a customer was told, on admin pages.

The order, order-line and exception pages belong to lower apps; their templates load these
tags, so the pages show records of every app without those apps importing this one.
"""

from django import template

from notifications.models import Notice
from notifications.timeline import order_timeline

register = template.Library()


@register.inclusion_tag("admin/timeline/_timeline.html")
def timeline(order, line=None):
    """The order's timeline; with `line`, only that line's and the order's own entries."""
    return {"entries": order_timeline(order, line=line), "line": line}


@register.inclusion_tag("admin/timeline/_notices.html")
def customer_told(line):
    """The e-mails about this line (or its whole order), newest first, with their text."""
    notices = (Notice.objects.filter(order_id=line.order_id)
               .filter(line_id=line.pk) | Notice.objects.filter(order_id=line.order_id, line__isnull=True))
    return {"notices": notices.order_by("-created_at", "-id")}
