"""What each notice says: the template context built from its outbox row and the order."""

from datetime import date

from django.conf import settings
from django.utils import translation

from notifications.links import consent_url
from notifications.locales import customer_language, date_format, datetime_format, money_format
from notifications.models import Notice
from notifications.rendering import Rendered, Trusted, notice_render
from orders.models import OrderLine
from workflow.regional import region_rules, regional_policy

Kind = Notice.Kind

#: Cancellation reasons that mean the customer decided to cancel.
CUSTOMER_REASONS = ("customer_request", "customer_declined_delay", "withdrawal")


def merchant_name() -> str:
    """Return the brand that signs every e-mail and the consent page."""
    return getattr(settings, "MERCHANT_NAME", None) or settings.BACKORDER_DESK.get(
        "SHOP_NAME", "Backorder Desk")


def notice_render_row(notice: Notice) -> Rendered:
    """Render a notice row (its order, line and customer loaded) in its language."""
    region = notice.region
    return notice_render(
        kind=notice.kind, region=region.code, locale=notice.locale, region_locale=region.locale,
        context=notice_context(notice),
    )


def cancellation_decider(*, reason: str | None, initiated_by: str | None) -> str:
    """Return who decided a cancellation, as the e-mail tells it.

    "customer", "seller" (we cannot supply: 16 CFR 435.2(c)(4) in the US), "no_consent",
    "past_due" (the system applied a rule the customer was told of) or "partner".
    """
    if reason in CUSTOMER_REASONS:
        return "customer"
    if reason == "out_of_stock":
        return "seller"
    if initiated_by == "customer":
        return "customer"
    if initiated_by == "partner" or reason == "partner":
        return "partner"
    if reason in ("no_consent", "past_due"):
        return reason
    return "seller"


def notice_context(notice: Notice) -> dict:
    """Return the template context of a notice: names, formatted dates and money, links."""
    region = notice.region
    speech = customer_language(notice.locale, region.locale)
    with translation.override(speech.language):
        return _notice_context(notice, speech.locale)


def _notice_context(notice: Notice, locale: str) -> dict:
    order, ctx = notice.order, dict(notice.context)
    region = notice.region
    rules = region_rules()
    base = {
        "shop_name": merchant_name(),
        "customer_name": order.customer.name,
        "order_ref": order.external_id,
        "region": region.code,
        "kind": notice.kind,
        "refund_working_days": rules.us_refund_working_days,
        "refund_days": regional_policy(region.code).refund_days,
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
        reason, initiated_by = ctx.get("reason"), ctx.get("initiated_by")
        decided_by = cancellation_decider(reason=reason, initiated_by=initiated_by)
        base.update({
            "reason": reason, "initiated_by": initiated_by, "decided_by": decided_by,
            "channel": order.channel.name if decided_by == "partner" else "",
            "qty": ctx.get("qty", base.get("qty")),
            "amount": money_format(ctx.get("amount", "0"), ctx.get("currency", order.currency), locale),
            "refund_due_by": date_format(ctx.get("refund_due_by"), locale),
            "decided_at": datetime_format(ctx.get("decided_at"), locale, region.timezone),
        })
    return base


def _confirmation_lines(notice: Notice, locale: str) -> list[dict]:
    ids = [int(i) for i in notice.announced]
    lines = {line.pk: line for line in OrderLine.objects.filter(pk__in=ids).select_related("sku")}
    # The region's policy names the right offered beside each line (EU withdrawal, UK cancel).
    action = regional_policy(notice.region.code).line_right_action
    rows = []
    for line_id, dates in notice.announced.items():
        line = lines.get(int(line_id))
        if line is None:
            continue
        link = ""
        if action and dates.get("version") is not None:
            link = Trusted(consent_url(line_id=line.pk, version=int(dates["version"]), action=action))
        rows.append({
            "link": link,
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
        "consented_open_ended": bool(ctx.get("consented_open_ended")),
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


def consent_page_words(*, order, region, recorded_at=None) -> dict:
    """Return what the consent page needs to speak the customer's language.

    The page's sentences are in the template ({% language t.language %}); these are the
    language, the values formatted in the customer's locale, and the brand.
    """
    speech = customer_language(order.customer.locale, region.locale)
    rules = region_rules()
    with translation.override(speech.language):
        recorded_on = datetime_format(recorded_at, speech.locale, region.timezone) if recorded_at else ""
    return {
        "language": speech.language, "lang": speech.html_lang, "locale": speech.locale,
        "shop_name": merchant_name(), "recorded_on": recorded_on,
        "refund_working_days": rules.us_refund_working_days,
        "refund_days": regional_policy(region.code).refund_days,
        "withdrawal_days": rules.withdrawal_days,
    }
