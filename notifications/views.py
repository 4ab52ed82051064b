"""The customer's consent page behind the signed links in delay notices.

GET shows the line, its new date and the choices, and never changes anything; POST (CSRF
protected) records the choice once per (line, promise version). Tampered links get 400,
expired ones 410, and change nothing.
"""

from django.core import signing
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from inventory.exceptions import BusinessRefusal
from notifications.links import consent_token, consent_token_read
from notifications.locales import date_format, locale_for
from notifications.page_text import TEXT, page_text
from orders.models import OrderLine
from promises import workflow
from promises.models import DelayConsent
from promises.regional import regional_policy

ANSWERS = ("accept", "cancel", "withdraw")


def _invalid(request, *, expired: bool):
    status = 410 if expired else 400
    return render(request, "consent/invalid.html", {"expired": expired}, status=status)


@require_http_methods(["GET", "POST"])
def consent(request, token):
    try:
        link = consent_token_read(token)
    except signing.SignatureExpired:
        return _invalid(request, expired=True)
    except signing.BadSignature:
        return _invalid(request, expired=False)
    line = (OrderLine.objects.select_related("order__customer", "order__region", "sku", "promise")
            .filter(pk=link.line_id).first())
    if line is None or not hasattr(line, "promise"):
        return _invalid(request, expired=False)
    error, status = "", 200
    if request.method == "POST":
        try:
            answer = consent_token_read(request.POST.get("answer", ""))
        except signing.BadSignature:  # SignatureExpired is a BadSignature too
            return _invalid(request, expired=False)
        if (answer.line_id, answer.version) != (link.line_id, link.version) or answer.action not in ANSWERS:
            return _invalid(request, expired=False)
        try:
            workflow.consent_record(
                line=line, version=link.version, decision=answer.action,
                channel=DelayConsent.Channel.LINK, now=timezone.now(),
                ip_address=request.META.get("REMOTE_ADDR") or None,
            )
        except BusinessRefusal as exc:
            error, status = str(exc), 409
        else:
            return redirect(request.path)
        line.refresh_from_db()
    return render(request, "consent/page.html", _page_context(line, link, error), status=status)


def _page_context(line: OrderLine, link, error: str) -> dict:
    order, promise = line.order, line.promise
    region = order.region
    policy = regional_policy(region.code)
    locale = locale_for(order.customer.locale, region.locale)
    today = workflow.region_today(region, timezone.now())
    recorded = DelayConsent.objects.filter(line=line, promise_version=link.version).first()
    withdraw = region.code == "EU" and policy.withdrawal_button(today)
    superseded = promise.version != link.version

    def answer(action):
        return consent_token(line_id=line.pk, version=link.version, action=action)

    shipment = policy.measures == "shipment"
    language = locale.split("_")[0]
    refund = "refund_us" if region.code == "US" else "refund"
    words = TEXT.get(language, TEXT["en"])
    recorded_at = date_format(timezone.localtime(recorded.recorded_at).date(), locale) if recorded else ""
    t = page_text(language, ref=order.external_id, name=order.customer.name, refund=words[refund],
                  when=recorded_at, date=date_format(promise.ship_date if shipment else promise.delivery_to,
                                                     locale))
    return {
        "t": t, "lang": language if language in ("en", "de", "fr") else "en",
        "line": line, "order": order, "region": region, "customer": order.customer,
        "shipment": shipment,
        "new_date": date_format(promise.ship_date if shipment else promise.delivery_to, locale),
        "confirmed": promise.confirmed,
        "open": line.status in OrderLine.OPEN_STATUSES,
        "recorded": recorded, "superseded": superseded, "error": error,
        "highlight": link.action,
        "accept_token": answer("accept"),
        "cancel_token": answer("withdraw" if withdraw else "cancel"),
        "withdraw": withdraw,
        "essential": order.essential_date,
    }
