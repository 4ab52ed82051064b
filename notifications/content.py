"""What each notice says: the template context built from its outbox row and the order."""

from datetime import date

from django.conf import settings

from notifications.links import consent_url
from notifications.locales import date_format, money_format
from notifications.models import Notice
from notifications.rendering import Rendered, Trusted, notice_render
from orders.models import OrderLine
from promises.regional import region_rules

Kind = Notice.Kind

def notice_render_row(notice: Notice) -> Rendered:
    """Render a notice row (its order, line and customer loaded) in its locale."""
    region = notice.region
    return notice_render(
        kind=notice.kind, region=region.code, locale=notice.locale, region_locale=region.locale,
        context=notice_context(notice),
    )


def notice_context(notice: Notice) -> dict:
    """Return the template context of a notice: names, formatted dates and money, links."""
    order, locale, ctx = notice.order, notice.locale, dict(notice.context)
    region = notice.region
    rules = region_rules()
    base = {
        "shop_name": settings.BACKORDER_DESK.get("SHOP_NAME", "Backorder Desk"),
        "customer_name": order.customer.name,
        "order_ref": order.external_id,
        "region": region.code,
        "kind": notice.kind,
        "refund_working_days": rules.us_refund_working_days,
        "refund_days": rules.eu_refund_days if region.code == "EU" else rules.uk_refund_days,
        "withdrawal_days": rules.withdrawal_days,
        "auto_cancel_days": rules.us_auto_cancel_after_days,
        "essential_date": order.essential_date,
    }
    line = notice.line
    if line is not None:
        base.update({"sku_name": line.sku.name, "sku_code": line.sku.code, "qty": line.qty_open or line.qty})
    if notice.kind == Kind.BACKORDER_CONFIRMATION:
        base["lines"] = _confirmation_lines(notice, locale)
    elif notice.kind in Notice.DELAY_KINDS:
        base.update(_delay_context(notice, ctx, locale))
    elif notice.kind == Kind.EARLIER_DATE:
        base.update({"measures": ctx.get("measures"), "old_date": date_format(ctx.get("old_date"), locale),
                     "new_date": date_format(ctx.get("new_date"), locale)})
    elif notice.kind == Kind.CONSENT_RECEIVED:
        measures = ctx.get("measures")
        base.update({"measures": measures, "channel": ctx.get("channel"),
                     "new_date": date_format(ctx.get("ship_date" if measures == "shipment" else "delivery_to"),
                                             locale)})
        if line is not None and notice.promise_version:
            base["cancel_url"] = Trusted(consent_url(line_id=line.pk, version=notice.promise_version,
                                                     action="view"))
    elif notice.kind == Kind.CANCELLATION_REFUND_CONFIRMATION:
        base.update({
            "reason": ctx.get("reason"), "initiated_by": ctx.get("initiated_by"),
            "qty": ctx.get("qty", base.get("qty")),
            "amount": money_format(ctx.get("amount", "0"), ctx.get("currency", order.currency), locale),
            "refund_due_by": date_format(ctx.get("refund_due_by"), locale),
        })
    return base


def _confirmation_lines(notice: Notice, locale: str) -> list[dict]:
    ids = [int(i) for i in notice.announced]
    lines = {line.pk: line for line in OrderLine.objects.filter(pk__in=ids).select_related("sku")}
    rows = []
    for line_id, dates in notice.announced.items():
        line = lines.get(int(line_id))
        if line is None:
            continue
        rows.append({
            "qty": line.qty, "sku_name": line.sku.name, "preorder": line.sku.preorder,
            "confirmed": dates.get("confirmed", True),
            "ship_date": date_format(dates["ship_date"], locale),
            "delivery_from": date_format(dates["delivery_from"], locale),
            "delivery_to": date_format(dates["delivery_to"], locale),
        })
    return rows


def _delay_context(notice: Notice, ctx: dict, locale: str) -> dict:
    line, version = notice.line, notice.promise_version or 0
    withdraw = bool(ctx.get("withdrawal_button"))
    cancel_action = "withdraw" if withdraw else "cancel"
    cancel_on = ctx.get("cancel_on")
    return {
        "renewed": notice.kind == Kind.RENEWED_DELAY_NOTICE,
        "measures": ctx.get("measures"),
        "unknown": bool(ctx.get("unknown")),
        "old_date": date_format(ctx.get("promised_date"), locale),
        "new_date": date_format(ctx.get("revised_date"), locale),
        "estimate_date": date_format(ctx.get("estimate_date"), locale),
        "silence_is_consent": bool(ctx.get("silence_is_consent")),
        "express_consent_required": bool(ctx.get("express_consent_required")),
        "cancel_on": date_format(cancel_on, locale),
        "consent_by": date_format(cancel_on, locale),
        "customer_may_terminate_now": bool(ctx.get("customer_may_terminate_now")),
        "withdrawal_button": withdraw,
        "citations": "; ".join(ctx.get("citations") or []),
        "page_url": Trusted(consent_url(line_id=line.pk, version=version, action="view")),
        "accept_url": Trusted(consent_url(line_id=line.pk, version=version, action="accept")),
        "cancel_url": Trusted(consent_url(line_id=line.pk, version=version, action=cancel_action)),
    }


def iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
