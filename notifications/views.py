"""The customer's page behind the signed links in delay notices and order confirmations.

GET shows the line, its date and the choices, and never changes anything; POST (CSRF
protected) records a choice once per (line, promise version, answer). Accepting is offered
for a delay the customer was told of; cancelling (US, UK) and withdrawing (EU, Art. 11a:
labelled, then confirmed on a second step) stay offered until the line ships or closes,
whatever the customer chose before. Links work until then; tampered ones get 400 and change
nothing (expired ones 410, where a maximum age is configured).
"""

from django.core import signing
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from core.errors import BusinessRefusal
from notifications.content import consent_page_words
from notifications.links import consent_token, consent_token_read
from notifications.locales import date_format, locale_for
from notifications.models import Notice
from orders.models import OrderLine
from promises.models import DelayConsent
from workflow import services as workflow
from workflow.regional import regional_policy

ANSWERS = ("accept", "cancel", "withdraw")
#: Answers taken only once the customer confirmed them on a second step.
CONFIRMED_ANSWERS = ("withdraw",)


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
    error, status, confirm = "", 200, ""
    if request.method == "POST":
        try:
            answer = consent_token_read(request.POST.get("answer", ""))
        except signing.BadSignature:  # SignatureExpired is a BadSignature too
            return _invalid(request, expired=False)
        if (answer.line_id, answer.version) != (link.line_id, link.version) or answer.action not in ANSWERS:
            return _invalid(request, expired=False)
        if answer.action in CONFIRMED_ANSWERS and request.POST.get("confirm") != "1":
            # Directive 2011/83/EU Art. 11a: the withdrawal is made by a second, confirming step.
            confirm = answer.action
        else:
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
    response = render(request, "consent/page.html", _page_context(line, link, error, confirm), status=status)
    # The page carries the customer's signed answers: never kept by a browser or a proxy.
    patch_cache_control(response, no_store=True, private=True)
    return response


def _page_context(line: OrderLine, link, error: str, confirm: str) -> dict:
    order, promise = line.order, line.promise
    region = order.region
    policy = regional_policy(region.code)
    today = workflow.region_today(region, timezone.now())
    answers = {c.decision: c for c in DelayConsent.objects.filter(line=line, promise_version=link.version)}
    closing = answers.get(DelayConsent.Decision.WITHDRAW) or answers.get(DelayConsent.Decision.CANCEL)
    accepted = answers.get(DelayConsent.Decision.ACCEPT)
    recorded = closing or accepted
    withdraw = policy.withdrawal_button(today)
    superseded = promise.version != link.version
    # Accepting answers a delay notice about this very promise; cancelling and withdrawing
    # stay open until the line ships, whatever the customer chose before.
    delay_told = Notice.objects.filter(line=line, kind__in=Notice.DELAY_KINDS,
                                       promise_version=link.version).exists()

    def answer(action):
        return consent_token(line_id=line.pk, version=link.version, action=action)

    shipment = policy.measures == "shipment"
    end_action = "withdraw" if withdraw else "cancel"
    return {
        **_page_words(line, promise, region, shipment, recorded),
        "line": line, "order": order, "region": region, "customer": order.customer,
        "shipment": shipment,
        "new_date": date_format(promise.ship_date if shipment else promise.delivery_to,
                                locale_for(order.customer.locale, region.locale)),
        "confirmed": promise.confirmed,
        "open": line.status in OrderLine.OPEN_STATUSES,
        "recorded": recorded, "recorded_at": recorded.recorded_at if recorded else None,
        "region_timezone": region.timezone,
        "accepted": accepted is not None, "accept_offered": delay_told and accepted is None,
        "superseded": superseded, "error": error,
        "highlight": link.action,
        "accept_token": answer("accept"),
        "cancel_token": answer(end_action),
        "confirm_action": confirm, "confirm_token": answer(confirm) if confirm else "",
        "withdraw": withdraw,
        "essential": order.essential_date,
    }


def _page_words(line: OrderLine, promise, region, shipment: bool, recorded) -> dict:
    """Return what the page needs to speak the customer's language (its words are in the template)."""
    t = consent_page_words(order=line.order, region=region,
                           recorded_at=recorded.recorded_at if recorded else None)
    return {"t": t, "lang": t["lang"]}
