"""US, 16 CFR 435: a supplier ETA slip, the delay option notice, and what the customer's
answer (or silence) leads to."""

from datetime import timedelta

import pytest
from django.core import mail

from notifications.models import Notice
from orders.models import Cancellation, OrderLine
from promises.models import DelayConsent, OrderException
from tests.factories.promises import backorder_line
from tests.workflow.steps import (
    answer,
    consent_paths,
    emails_to,
    html_of,
    noon,
    page_answers,
    run_job,
    slip,
)
from workflow import services as workflow
from workflow.fulfilment import shipment_record
from workflow.policies import USPolicy

pytestmark = pytest.mark.django_db

Kind = OrderException.Kind


def open_exceptions(line, kind=None):
    qs = OrderException.objects.filter(line=line, status__in=OrderException.OPEN_STATUSES)
    return qs.filter(kind=kind) if kind else qs


def test_a_short_first_slip_sends_a_notice_saying_silence_is_consent_by_the_promised_date():
    # Given a line promised and told to ship on T
    b = backorder_line("US", eta_days=14)
    promised = b.promise.ship_date
    # When the supplier's ETA slips by ten days
    slip(b, days=10)
    # Then a delay notice went out at once, due by T, and the new date counts as told
    exc = OrderException.objects.get(line=b.line, kind=Kind.DELAY_NOTICE_DUE)
    assert exc.due_by == promised and exc.status == "resolved" and exc.notified_at is not None
    assert exc.revised_date == b.promise.ship_date and not exc.express_consent_required
    assert b.promise.communicated_ship_date == b.promise.ship_date > promised
    [message] = emails_to(b.customer.email)
    body = message.body
    new_date = f"{b.promise.ship_date:%B} {b.promise.ship_date.day}, {b.promise.ship_date.year}"
    assert f"Our new shipping date is {new_date}" in body
    assert "full and prompt refund" in body and "Cancelling is free" in body
    assert "If we do not hear from you, we will take it that you agree to the delay" in body
    assert "16 CFR 435.2(b)(1)(ii)" in body
    assert len(consent_paths(message)) == 2 and "<a href=" in html_of(message)


def test_silence_on_a_short_delay_keeps_the_order():
    # Given a short first delay the customer never answered
    b = backorder_line("US", eta_days=14)
    promised = b.promise.ship_date
    slip(b, days=10)
    # When the consent-deadline and past-due jobs run long after T + 30
    later = noon(promised + timedelta(days=45))
    assert run_job(workflow.consent_deadlines_enforce, now=later) == []
    assert run_job(workflow.past_due_sweep, now=noon(promised + timedelta(days=5))) == []
    # Then the line is still open and nothing is owed
    b.refresh()
    assert b.line.status == OrderLine.Status.BACKORDERED
    assert not Cancellation.objects.exists()


def test_a_long_first_slip_needs_express_consent_and_silence_cancels_the_line_after_t_plus_30():
    # Given a line promised for T whose ETA slips by 45 days
    b = backorder_line("US", eta_days=14)
    promised = b.promise.ship_date
    slip(b, days=45)
    # Then the notice says the order is cancelled unless the customer consents by T + 30
    deadline = promised + timedelta(days=30)
    [message] = emails_to(b.customer.email)
    assert "We need your express agreement to this delay" in message.body
    assert f"{deadline:%B} {deadline.day}, {deadline.year}" in message.body
    assert "we will cancel it automatically" in message.body
    consent_due = OrderException.objects.get(line=b.line, kind=Kind.CONSENT_OVERDUE)
    assert consent_due.due_by == consent_due.cancel_on == deadline and consent_due.status == "open"
    mail.outbox.clear()
    # When the job runs on T + 30 nothing happens; the day after, the line is cancelled
    assert run_job(workflow.consent_deadlines_enforce, now=noon(deadline)) == []
    assert run_job(workflow.consent_deadlines_enforce, now=noon(deadline + timedelta(days=1))) == [b.line.pk]
    # Then it is cancelled by the system, refund due in 7 working days, and the customer told
    b.refresh()
    assert b.line.status == OrderLine.Status.CANCELLED
    cancellation = Cancellation.objects.get(line=b.line)
    assert cancellation.reason == Cancellation.Reason.NO_CONSENT
    assert cancellation.initiated_by == Cancellation.Initiator.SYSTEM
    assert cancellation.refund_due_by == USPolicy().refund_due_by(deadline + timedelta(days=1))
    consent_due.refresh_from_db()
    assert consent_due.status == "resolved" and "435.2(c)" in consent_due.resolution
    [confirmation] = emails_to(b.customer.email)
    assert "cancellation and refund confirmed" in confirmation.subject
    assert "We did not receive your agreement to the delay in time" in confirmation.body
    # And a second run changes nothing
    assert run_job(workflow.consent_deadlines_enforce, now=noon(deadline + timedelta(days=2))) == []
    assert Cancellation.objects.count() == 1


def test_the_customer_accepts_a_long_delay_on_the_consent_page_and_keeps_the_order(client):
    # Given a long delay notice
    b = backorder_line("US", eta_days=14)
    promised = b.promise.ship_date
    slip(b, days=45)
    [message] = emails_to(b.customer.email)
    accept_path, _cancel_path = consent_paths(message)
    mail.outbox.clear()
    # When the customer opens the link: the page shows the line and the date, and records nothing
    page = client.get(accept_path)
    assert page.status_code == 200
    html = page.content.decode()
    assert b.line.sku.name in html and "New ship date" in html
    assert not DelayConsent.objects.exists()
    # And accepts
    response = answer(client, accept_path, "Accept the new date")
    assert response.status_code == 302
    # Then the express consent is recorded, the exception resolved, the customer thanked
    consent = DelayConsent.objects.get(line=b.line)
    assert consent.decision == "accept" and consent.channel == "link" and consent.promise_version == b.promise.version
    assert not open_exceptions(b.line).exists()
    [thanks] = emails_to(b.customer.email)
    assert "thank you for waiting" in thanks.subject
    # And the deadline job leaves the line alone
    assert run_job(workflow.consent_deadlines_enforce, now=noon(promised + timedelta(days=31))) == []
    assert b.refresh().line.status == OrderLine.Status.BACKORDERED
    # And a second click shows the recorded choice and changes nothing
    token = page_answers(html)["Accept the new date"]
    again = client.post(accept_path, {"answer": token}, follow=True)
    assert "We have recorded that you accept the new date" in again.content.decode()
    assert DelayConsent.objects.count() == 1 and len(mail.outbox) == 1


def test_the_customer_cancels_on_the_consent_page_for_a_refund_in_seven_working_days(client):
    b = backorder_line("US", eta_days=14)
    slip(b, days=10)
    [message] = emails_to(b.customer.email)
    _accept, cancel_path = consent_paths(message)
    mail.outbox.clear()
    answers = page_answers(client.get(cancel_path).content.decode())
    # When the customer cancels
    response = answer(client, cancel_path, "Cancel for a full refund", follow=True)
    # Then the line is cancelled at the customer's request and the refund deadline recorded
    assert "We have cancelled this item as you asked" in response.content.decode()
    b.refresh()
    assert b.line.status == OrderLine.Status.CANCELLED
    cancellation = Cancellation.objects.get(line=b.line)
    assert cancellation.reason == Cancellation.Reason.CUSTOMER_DECLINED_DELAY
    assert cancellation.initiated_by == Cancellation.Initiator.CUSTOMER
    assert cancellation.refund_due_by == USPolicy().refund_due_by(cancellation.cancelled_at.date())
    assert DelayConsent.objects.get(line=b.line).decision == "cancel"
    [confirmation] = emails_to(b.customer.email)
    assert "$40.00" in confirmation.body and "As you asked, we have cancelled" in confirmation.body
    # And a second click cancels nothing more
    client.post(cancel_path, {"answer": answers["Cancel for a full refund"]})
    assert Cancellation.objects.count() == 1 and len(mail.outbox) == 1


def test_a_renewed_delay_needs_express_consent_and_is_cancelled_after_the_revised_date():
    # Given a first short delay already told to the customer (silence = consent)
    b = backorder_line("US", eta_days=14)
    slip(b, days=10)
    revised = b.promise.ship_date
    mail.outbox.clear()
    # When the revised date slips again
    slip(b, days=10)
    # Then a renewed notice goes out: express consent, automatic cancellation after the revised date
    [notice] = Notice.objects.filter(line=b.line, kind=Notice.Kind.RENEWED_DELAY_NOTICE)
    assert notice.status == Notice.Status.SENT
    [message] = emails_to(b.customer.email)
    assert message.subject.startswith("Further delay")
    assert "Because this is a further delay, we need your express agreement" in message.body
    assert "16 CFR 435.2(b)(2)" in message.body
    consent_due = OrderException.objects.get(line=b.line, kind=Kind.CONSENT_OVERDUE)
    assert consent_due.cancel_on == revised and consent_due.notice_kind == "renewed_delay_notice"
    # And without consent the line is cancelled the day after the revised date (435.2(c)(3))
    assert run_job(workflow.consent_deadlines_enforce, now=noon(revised + timedelta(days=1))) == [b.line.pk]


def test_a_slip_to_no_confirmed_supply_says_the_date_is_unknown_and_why(run_on_commit):
    from inventory.services import po_update

    b = backorder_line("US", eta_days=14)
    # When the only PO is cancelled: the line falls back to an unconfirmed lead-time estimate
    with run_on_commit():
        po_update(po=b.po, status="cancelled")
    b.refresh()
    assert not b.promise.confirmed
    # Then the notice gives no definite date, says why, and needs express consent
    [message] = emails_to(b.customer.email)
    assert "We cannot give you a definite new shipping date yet" in message.body
    assert "our supplier has not confirmed" in message.body
    assert open_exceptions(b.line, Kind.NO_CONFIRMED_SUPPLY).exists()
    assert open_exceptions(b.line, Kind.CONSENT_OVERDUE).get().cancel_on is not None


def test_a_held_notice_not_sent_by_t_makes_the_line_past_due_and_cancelled():
    # Given US notices held for review and a slip nobody reviewed
    b = backorder_line("US", eta_days=14)
    b.region.hold_notices_for_review = True
    b.region.save()
    promised = b.promise.ship_date
    slip(b, days=10)
    exc = open_exceptions(b.line, Kind.DELAY_NOTICE_DUE).get()
    assert exc.notice_state == "held" and exc.due_by == promised - timedelta(days=2) and not mail.outbox
    # When the past-due sweep runs on T: still in time
    assert run_job(workflow.past_due_sweep, now=noon(promised)) == []
    # And the day after T (16 CFR 435.2(c)(5))
    assert run_job(workflow.past_due_sweep, now=noon(promised + timedelta(days=1))) == [b.line.pk]
    # Then the line is cancelled for lack of a notice and refunded
    b.refresh()
    assert b.line.status == OrderLine.Status.CANCELLED
    assert Cancellation.objects.get(line=b.line).reason == Cancellation.Reason.PAST_DUE
    past_due = OrderException.objects.get(line=b.line, kind=Kind.PAST_DUE)
    assert "435.2(c)(5)" in past_due.resolution
    assert Notice.objects.get(line=b.line, kind=Notice.Kind.DELAY_NOTICE).status == Notice.Status.SUPERSEDED
    [message] = emails_to(b.customer.email)
    assert "by the date we promised, so we have cancelled it" in message.body


def test_an_earlier_date_sends_good_news_and_becomes_the_date_told():
    b = backorder_line("US", eta_days=21)
    promised = b.promise.ship_date
    slip(b, days=-7)
    assert b.promise.ship_date < promised
    assert b.promise.communicated_ship_date == b.promise.ship_date
    [message] = emails_to(b.customer.email)
    assert message.subject.startswith("Good news")
    assert not OrderException.objects.filter(line=b.line).exists()


def test_a_promise_back_on_time_resolves_the_exception_and_withdraws_the_held_notice():
    b = backorder_line("US", eta_days=14)
    b.channel.hold_notices_for_review = True
    b.channel.save()
    slip(b, days=10)
    assert open_exceptions(b.line, Kind.DELAY_NOTICE_DUE).exists()
    # When the ETA comes back
    slip(b, days=-10)
    # Then nothing is left to tell
    assert not open_exceptions(b.line).exists()
    assert OrderException.objects.get(line=b.line).resolution.startswith("Promise back on")
    assert Notice.objects.get(line=b.line).status == Notice.Status.SUPERSEDED
    assert not mail.outbox


def test_shipping_the_line_resolves_its_exceptions():
    b = backorder_line("US", eta_days=14)
    b.region.hold_notices_for_review = True
    b.region.save()
    slip(b, days=45)
    shipment_record(order=b.order, lines=[(b.line.pk, 1)])
    exc = OrderException.objects.get(line=b.line, kind=Kind.DELAY_NOTICE_DUE)
    assert exc.status == "resolved" and exc.resolution == "Line shipped"
    assert Notice.objects.get(line=b.line).status == Notice.Status.SUPERSEDED


def test_the_slip_sweep_catches_a_slip_no_signal_reported():
    from promises.models import Promise

    b = backorder_line("US", eta_days=14)
    # Given a promise moved later behind the workflow's back (a lost signal)
    Promise.objects.filter(pk=b.line.pk).update(ship_date=b.promise.ship_date + timedelta(days=5),
                                                version=5)
    # When the sweep runs (twice)
    [result] = run_job(workflow.slips_sweep)
    assert run_job(workflow.slips_sweep) == []
    # Then the slip is handled like any other
    assert result.outcome == "slip"
    assert OrderException.objects.get(line=b.line, kind=Kind.DELAY_NOTICE_DUE).promise_version == 5


def test_the_slip_sweep_resolves_a_delay_exception_whose_promise_moved_back_unassessed(settings):
    from promises.models import Promise

    # Given a slip whose notice is held, so its delay exception stays open
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "HOLD_NOTICES_REGIONS": ["US"]}
    b = backorder_line("US", eta_days=14)
    told = b.promise.ship_date
    b = slip(b, days=21)
    exc = open_exceptions(b.line, Kind.DELAY_NOTICE_DUE).get()
    notice = Notice.objects.get(line=b.line, kind="delay_notice")
    assert notice.status == Notice.Status.HELD
    # And the promise moved back on time behind the workflow's back (a lost assessment)
    Promise.objects.filter(pk=b.line.pk).update(ship_date=told, version=b.promise.version + 1)
    # When the sweep runs (twice)
    [result] = run_job(workflow.slips_sweep)
    assert run_job(workflow.slips_sweep) == []
    # Then the exception is resolved and its held notice withdrawn
    assert result.outcome == "back_on_time"
    exc.refresh_from_db()
    assert exc.status == OrderException.Status.RESOLVED
    notice.refresh_from_db()
    assert notice.status == Notice.Status.SUPERSEDED
