"""One backordered line's whole life as a state machine (hypothesis.stateful): the supplier's
ETA slips, creeps and comes back, the supplier stops confirming, the customer accepts or
cancels, days pass with the scheduled jobs, and the goods arrive and ship. After every step
the regional rules are checked against an oracle kept from what happened and what the
outbox sent.

US (16 CFR 435) measures shipment. The oracle keeps the agreed date A (the ship-by date the
buyer holds the seller to: the date told at checkout, then a short first delay's date, or a
date the buyer expressly accepted) and the cancellation deadline D once a notice fixes one:
a first delay of more than 30 days or of unknown length fixes A + 30 (435.2(b)(1)(iii),
(c)(2)); a renewed delay past A fixes A (435.2(b)(2), (c)(3)); later slips never move a
fixed D later. EU (Directive 2011/83/EU art. 18) and UK (CRA 2015 s.28) measure delivery and
only the customer ends the contract.

Invariants, numbered as in the failure messages:
 (1) US: no line open on a day after D unless the buyer expressly accepted after D was fixed;
 (2) US: no line open on a day after A, promised beyond A, without a delay notice sent by A
     (435.2(c)(5));
 (3) US: every delay notice sent on or before the deadline it serves (D, else A);
 (4) US: a refund is due within 7 working days of the cancellation (435.1(b), (d));
 (5) a customer who asks to cancel an open line gets it cancelled, an acceptance before
     notwithstanding (US: the right to cancel lasts until shipment);
 (6) US: a buyer who accepted a delay of unknown length is never cancelled automatically;
 (7) EU/UK: only the customer (or an agent for them) ends the contract;
 (8) EU/UK: while the line is open, the consent page of the latest notice with a link answers
     and offers withdrawal (EU) or ending the contract (UK), after an acceptance too;
 (9) EU/UK: a refund is due within 14 days of the cancellation (art. 13, CCR reg 34);
(10) no two sent notices of one kind about one promise version;
(11) a notice's dates are the dates of the promise version it is about.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
import time_machine
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.errors import BusinessRefusal
from inventory.models import PurchaseOrder
from inventory.services import po_update, receipt_record
from notifications.links import consent_token_read
from notifications.models import Notice
from notifications.services import notices_send_due
from orders.models import Cancellation, OrderLine
from promises.models import DelayConsent, PromiseChange
from promises.services import pools_repromise_all
from tests.depth import RANDOM_SEEDS, examples
from tests.factories.promises import backorder_line
from tests.workflow.steps import LINK, ZONES, run_job
from workflow import services as workflow
from workflow.fulfilment import shipment_record

pytestmark = pytest.mark.django_db

#: Monday 11 January 2027, 10:00 in the region's timezone: every example starts there.
START = (date(2027, 1, 11), time(10))
SILENCE_DAYS = 30  # 16 CFR 435.2(b)(1)(ii), (c)(2)
US_REFUND_WORKING_DAYS = 7  # 16 CFR 435.1(b), (d)
EU_UK_REFUND_DAYS = 14  # Directive 2011/83/EU art. 13; CCR 2013 reg 34
CANCEL_DECISION = {"US": "cancel", "EU": "withdraw", "UK": "cancel"}
ANSWER_INPUT = re.compile(r'name="answer" value="([^"]+)"')
SENT = Notice.Status.SENT

LIVES = settings(
    max_examples=examples(25), stateful_step_count=25, derandomize=not RANDOM_SEEDS, database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)


def us_refund_limit(cancelled_on: date) -> date:
    """Return the 7th US working day (Mon-Fri, no federal holiday) after `cancelled_on`."""
    federal = holidays.US(years=range(cancelled_on.year, cancelled_on.year + 2))
    day, left = cancelled_on, US_REFUND_WORKING_DAYS
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in federal:
            left -= 1
    return day


@dataclass
class UsOracle:
    """What the buyer may hold the seller to, from the notices sent and the answers given."""

    agreed: date  # A
    deadline: date | None = None  # D
    delay_notices: int = 0
    notice_by_agreed: bool = False  # a delay notice about the current A went out by A
    open_ended: bool = False  # the buyer accepted a delay of unknown length
    log: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PromiseSeen:
    """A promise version as the test saw it (delivery dates unknown when read from its change)."""

    ship_date: date
    delivery_from: date | None
    delivery_to: date | None
    confirmed: bool


class LineLife(RuleBasedStateMachine):
    """One line of `region`, from its promise to its shipment or cancellation."""

    region = "US"

    def __init__(self):
        super().__init__()
        # Each example is a savepoint rolled back at teardown: examples share no rows.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.zone = ZoneInfo(ZONES[self.region])
        self.travel = time_machine.travel(datetime.combine(*START, tzinfo=self.zone), tick=False)
        self.clock = self.travel.start()
        self.client = Client()
        self.b = None
        self.seen_notices: set[int] = set()
        self.seen_kinds: set[tuple[str, int | None]] = set()
        self.seen_cancellations: set[int] = set()
        self.versions: dict[int, PromiseSeen] = {}
        self.link: str | None = None
        self.page_checked: tuple | None = None
        self.delay_notices = 0
        self.oracle: UsOracle | None = None

    def teardown(self):
        self.travel.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- Reading the world ---------------------------------------------------------------

    @property
    def today(self) -> date:
        return workflow.region_today(self.b.region, datetime.now(self.zone))

    @property
    def line(self) -> OrderLine:
        return self.b.line

    @property
    def line_open(self) -> bool:
        return self.b is not None and self.line.status in OrderLine.OPEN_STATUSES

    def _po_is(self, *statuses) -> bool:
        return self.b is not None and self.b.po.status in statuses

    def _measured(self, seen: PromiseSeen) -> date:
        return seen.ship_date if self.region == "US" else seen.delivery_to

    def _refresh(self) -> None:
        self.b.refresh()
        self.b.po.refresh_from_db()
        p = self.line.promise
        self.versions.setdefault(p.version, PromiseSeen(p.ship_date, p.delivery_from, p.delivery_to,
                                                        p.confirmed))

    def _version_seen(self, version: int) -> PromiseSeen | None:
        """Return the promise as it was at `version` (its ship date and confirmation at least)."""
        if version in self.versions:
            return self.versions[version]
        change = PromiseChange.objects.filter(line=self.line, version=version).order_by("-id").first()
        if change is None:
            return None
        return PromiseSeen(change.new_ship_date, None, None, change.new_confirmed)

    def _note(self, text: str) -> None:
        if self.oracle is not None:
            self.oracle.log.append(f"{self.today}: {text}")

    def _run(self, job, **kwargs):
        """Run a service as the worker would, then send what is due and read what happened."""
        result = run_job(job, **kwargs)
        run_job(notices_send_due)
        self._observe()
        return result

    # --- Life -------------------------------------------------------------------------------

    @initialize(eta_days=st.integers(5, 30))
    def promise_a_line(self, eta_days):
        self.b = backorder_line(self.region, eta_days=eta_days)
        self._refresh()
        told = self.line.promise.communicated_ship_date
        if self.region == "US":
            self.oracle = UsOracle(agreed=told)
        self._note(f"line promised to ship {self.line.promise.ship_date}, told {told}")

    @precondition(lambda self: self.line_open and self._po_is(*_EDITABLE))
    @rule(days=st.integers(1, 60))
    def slip(self, days):
        self._note(f"slip +{days}")
        self._run(po_update, po=self.b.po, eta=self.b.po.eta + timedelta(days=days))

    @precondition(lambda self: self.line_open and self._po_is(*_EDITABLE))
    @rule()
    def creep(self):
        """An overdue PO slipping nightly: the ETA moves a day, and so does the clock."""
        self._note("creep")
        self._run(po_update, po=self.b.po, eta=self.b.po.eta + timedelta(days=1))
        self._day_pass()

    @precondition(lambda self: self.line_open and self._po_is(*_EDITABLE) and self.b.po.eta > self.today)
    @rule(days=st.integers(1, 20))
    def pull_in(self, days):
        eta = max(self.b.po.eta - timedelta(days=days), self.today)
        self._note(f"pull in to ETA {eta}")
        self._run(po_update, po=self.b.po, eta=eta)

    @precondition(lambda self: self.line_open and self._po_is(PurchaseOrder.Status.CONFIRMED))
    @rule()
    def supplier_unconfirmed(self):
        """The supplier withdraws its confirmation: the PO is a draft, the promise an estimate."""
        self._note("supplier unconfirmed")
        self._run(po_update, po=self.b.po, status=PurchaseOrder.Status.DRAFT)

    @precondition(lambda self: self.line_open and self._po_is(PurchaseOrder.Status.DRAFT))
    @rule()
    def supplier_confirms_again(self):
        self._note("supplier confirms again")
        self._run(po_update, po=self.b.po, status=PurchaseOrder.Status.CONFIRMED)

    @precondition(lambda self: self.line_open and self.delay_notices > 0)
    @rule()
    def accept(self):
        """The customer expressly accepts the current date on the consent page."""
        promise = self.line.promise
        try:
            result = self._run(workflow.consent_record, line=self.line, version=promise.version,
                               decision=DelayConsent.Decision.ACCEPT, channel=DelayConsent.Channel.LINK)
        except BusinessRefusal as refused:
            self._note(f"accept v{promise.version} refused: {refused}")
            return
        self._note(f"accept v{promise.version} ({promise.ship_date if promise.confirmed else 'unknown'})"
                   f"{'' if result.created else ' (already answered)'}")
        if result.created and self.oracle is not None:
            o = self.oracle
            if promise.confirmed:
                o.agreed, o.deadline, o.open_ended, o.notice_by_agreed = promise.ship_date, None, False, False
            else:
                o.deadline, o.open_ended = None, True

    @precondition(lambda self: self.line_open and self.delay_notices > 0)
    @rule()
    def cancel_request(self):
        """The customer answers a delay: cancels (US), withdraws (EU) or ends the contract (UK)."""
        decision = CANCEL_DECISION[self.region]
        version = self.line.promise.version
        self._note(f"customer {decision} v{version}")
        try:
            self._run(workflow.consent_record, line=self.line, version=version, decision=decision,
                      channel=DelayConsent.Channel.LINK)
        except BusinessRefusal as refused:
            raise AssertionError(f"(5) the customer's {decision} was refused: {refused}") from None
        accepted = DelayConsent.objects.filter(line=self.line, decision="accept").exists()
        assert self.line.status == OrderLine.Status.CANCELLED, (
            f"(5) the customer asked to {decision} on {self.today} and line is still {self.line.status}"
            f"{' (after accepting a date)' if accepted else ''}")

    @precondition(lambda self: self.line_open and self._po_is(PurchaseOrder.Status.CONFIRMED)
                  and self.b.po.eta <= self.today)
    @rule()
    def receipt(self):
        """The PO arrives in full when due, and the line ships."""
        po_line = self.b.po.lines.select_related("sku").get()
        self._note("receipt and shipment")
        self._run(receipt_record, po_number=self.b.po.number,
                  lines=[(po_line.sku.code, po_line.qty_ordered - po_line.qty_received)])
        self._run(shipment_record, order=self.b.order, lines=[(self.line.pk, self.line.qty_open)])
        assert self.line.status == OrderLine.Status.SHIPPED

    @precondition(lambda self: self.b is not None)
    @rule(days=st.integers(1, 5))
    def day_passes(self, days):
        for _ in range(days):
            self._day_pass()

    def _day_pass(self) -> None:
        """Move the clock a day on and run the scheduled jobs of that day (a closed line has
        nothing left to run them for)."""
        self.clock.shift(timedelta(days=1))
        if not self.line_open:
            return
        run_job(pools_repromise_all)  # the nightly run: an overdue PO's units move to the next pick batch
        run_job(workflow.consent_deadlines_enforce)
        run_job(workflow.past_due_sweep)
        run_job(workflow.slips_sweep)
        run_job(notices_send_due)
        self._observe()
        self._check_deadlines()

    # --- The oracle -------------------------------------------------------------------------

    def _observe(self) -> None:
        """Read the notices sent and the cancellations made since the last step."""
        self._refresh()
        notices = (Notice.objects.filter(line=self.line, status=SENT).exclude(pk__in=self.seen_notices)
                   .order_by("sent_at", "pk"))
        for notice in notices:
            self.seen_notices.add(notice.pk)
            self._notice_check(notice)
        for c in Cancellation.objects.filter(line=self.line).exclude(pk__in=self.seen_cancellations):
            self.seen_cancellations.add(c.pk)
            self._cancellation_check(c)

    def _notice_check(self, notice: Notice) -> None:
        sent_on = notice.sent_at.astimezone(self.zone).date()
        key = (notice.kind, notice.promise_version)
        # (10) one notice per kind and promise version
        assert key not in self.seen_kinds, f"(10) a second {notice.kind} about v{notice.promise_version} sent"
        self.seen_kinds.add(key)
        self._dates_check(notice)
        paths = LINK.findall(notice.body_text)
        if paths:
            self.link = paths[0]
        if notice.kind not in Notice.DELAY_KINDS:
            self._note(f"{notice.kind} v{notice.promise_version} sent")
            return
        self.delay_notices += 1
        ctx = notice.context
        unknown = bool(ctx.get("unknown")) or not ctx.get("revised_date")
        revised = None if unknown else date.fromisoformat(ctx["revised_date"])
        self._note(f"{notice.kind} v{notice.promise_version} sent: revised {revised or 'unknown'}, "
                   f"cancel_on {ctx.get('cancel_on')}")
        o = self.oracle
        if o is None:
            return
        if not o.open_ended:
            # (3) a notice after the deadline it serves counts as none (435.2(b)(1), (b)(2))
            due = o.deadline if o.deadline is not None else o.agreed
            assert sent_on <= due, (
                f"(3) {notice.kind} sent on {sent_on}, after its deadline {due} (A={o.agreed}, D={o.deadline})")
        first = o.delay_notices == 0
        o.delay_notices += 1
        if o.open_ended:
            return
        if sent_on <= o.agreed:
            o.notice_by_agreed = True
        # A revised date on or before A (an earlier date was told in between) delays nothing
        # the buyer holds the seller to: A stays.
        if first and revised is not None and o.agreed < revised <= o.agreed + timedelta(days=SILENCE_DAYS):
            o.agreed, o.notice_by_agreed = revised, False  # silence is consent (435.2(b)(1)(ii))
        elif first and (revised is None or revised > o.agreed):
            o.deadline = o.deadline or o.agreed + timedelta(days=SILENCE_DAYS)  # (b)(1)(iii), (c)(2)
        elif revised is None or revised > o.agreed:
            o.deadline = o.deadline or o.agreed  # (b)(2), (c)(3)

    def _dates_check(self, notice: Notice) -> None:
        """(11) the dates a notice tells are those of the promise version it is about."""
        version = notice.promise_version
        if notice.line_id is None or version is None:
            return
        seen = self._version_seen(version)
        assert seen is not None, f"(11) {notice.kind} about v{version}, a promise version never seen"
        dates = (notice.announced or {}).get(str(self.line.pk))
        if dates:
            told = (date.fromisoformat(dates["ship_date"]), dates.get("confirmed"))
            assert dates.get("version") in (None, version) and told == (seen.ship_date, seen.confirmed), (
                f"(11) {notice.kind} v{version} announces {dates}, the promise was {seen}")
            if seen.delivery_to is not None:
                assert date.fromisoformat(dates["delivery_to"]) == seen.delivery_to, (
                    f"(11) {notice.kind} v{version} announces {dates}, the promise was {seen}")
        ctx = notice.context or {}
        if notice.kind in Notice.DELAY_KINDS and seen.delivery_to is not None:
            revised = ctx.get("revised_date")
            expected = self._measured(seen).isoformat() if seen.confirmed else None
            assert revised == expected, (
                f"(11) {notice.kind} v{version} gives the revised date {revised}, the promise was {seen}")
        if notice.kind == Notice.Kind.EARLIER_DATE and seen.delivery_to is not None:
            assert ctx.get("new_date") == self._measured(seen).isoformat(), (
                f"(11) earlier-date notice v{version} gives {ctx.get('new_date')}, the promise was {seen}")
        if notice.kind == Notice.Kind.CONSENT_RECEIVED and seen.delivery_to is not None:
            told = ctx.get("ship_date" if self.region == "US" else "delivery_to")
            assert told == self._measured(seen).isoformat(), (
                f"(11) consent-received v{version} confirms {told}, the promise was {seen}")

    def _cancellation_check(self, c: Cancellation) -> None:
        cancelled_on = c.cancelled_at.astimezone(self.zone).date()
        self._note(f"cancelled by {c.initiated_by} ({c.reason}), refund due {c.refund_due_by}")
        if self.region == "US":
            ny_day = c.cancelled_at.astimezone(ZoneInfo("America/New_York")).date()
            limit = us_refund_limit(ny_day)
            assert c.refund_due_by <= limit, (
                f"(4) refund due {c.refund_due_by}, more than 7 working days after {ny_day} ({limit})")
            if c.initiated_by == Cancellation.Initiator.SYSTEM:
                assert not self.oracle.open_ended, (
                    f"(6) cancelled by the system ({c.reason}) on {cancelled_on} although the buyer "
                    "accepted a delay of unknown length")
            return
        assert c.initiated_by in (Cancellation.Initiator.CUSTOMER, Cancellation.Initiator.AGENT), (
            f"(7) the contract was ended by {c.initiated_by} ({c.reason}) on {cancelled_on}")
        limit = cancelled_on + timedelta(days=EU_UK_REFUND_DAYS)
        assert c.refund_due_by <= limit, f"(9) refund due {c.refund_due_by}, after {limit}"

    def _check_deadlines(self) -> None:
        o = self.oracle
        if o is None or not self.line_open:
            return
        today, promise = self.today, self.line.promise
        history = "; ".join(o.log)
        if o.deadline is not None:
            assert today <= o.deadline, (
                f"(1) line open on {today}, after its cancellation deadline D={o.deadline} "
                f"without express consent. {history}")
        if not o.open_ended and today > o.agreed and promise.ship_date > o.agreed:
            assert o.notice_by_agreed, (
                f"(2) line open on {today}, promised {promise.ship_date}, past A={o.agreed} "
                f"with no delay notice by A (435.2(c)(5)). {history}")

    @invariant()
    def regional_rules_hold(self):
        if self.b is None:
            return
        self._check_deadlines()
        if self.region == "US" or not self.line_open or self.link is None:
            return
        # (8) the latest link still lets the customer end the contract (the page changes
        # with the link, the day, the promise and the answers recorded)
        page_state = (self.link, self.today, self.line.promise.version,
                      DelayConsent.objects.filter(line=self.line).count())
        if page_state == self.page_checked:
            return
        self.page_checked = page_state
        page = self.client.get(self.link)
        assert page.status_code == 200, (
            f"(8) the consent page of the latest notice answers {page.status_code} on {self.today}")
        actions = {consent_token_read(token).action for token in ANSWER_INPUT.findall(page.content.decode())}
        wanted = CANCEL_DECISION[self.region]
        assert wanted in actions, (
            f"(8) the consent page of the latest notice offers {sorted(actions) or 'no answer'}, "
            f"not {wanted!r}, on {self.today}")


_EDITABLE = (PurchaseOrder.Status.CONFIRMED, PurchaseOrder.Status.DRAFT)


class USLineLife(LineLife):
    region = "US"


class EULineLife(LineLife):
    region = "EU"


class UKLineLife(LineLife):
    region = "UK"


def test_a_us_line_keeps_16_cfr_435_through_any_sequence_of_slips_and_answers():
    run_state_machine_as_test(USLineLife, settings=LIVES)


def test_an_eu_line_keeps_article_18_through_any_sequence_of_slips_and_answers():
    run_state_machine_as_test(EULineLife, settings=LIVES)


def test_a_uk_line_keeps_cra_section_28_through_any_sequence_of_slips_and_answers():
    run_state_machine_as_test(UKLineLife, settings=LIVES)


def _us_sequence(*steps, eta_days: int = 10):
    """Run one US line through `steps` ((rule, kwargs) pairs), checking the rules after each."""
    state = USLineLife()
    try:
        state.promise_a_line(eta_days=eta_days)
        state.regional_rules_hold()
        for rule_name, kwargs in steps:
            getattr(state, rule_name)(**kwargs)
            state.regional_rules_hold()
    finally:
        state.teardown()


def test_a_us_line_told_an_earlier_date_may_slip_back_up_to_its_checkout_date():
    # Given a line told an earlier date than at checkout, whose PO then creeps back day by
    # day: each notice tells a date still before the checkout date, which stands
    _us_sequence(("pull_in", {"days": 7}), ("creep", {}), ("day_passes", {"days": 4}),
                 ("creep", {}), ("day_passes", {"days": 2}), ("creep", {}))


def test_a_us_line_pulled_in_twice_then_creeping_keeps_its_checkout_date():
    _us_sequence(("pull_in", {"days": 7}), ("pull_in", {"days": 4}), ("creep", {}),
                 ("day_passes", {"days": 2}), ("creep", {}))


def test_a_us_line_whose_slip_is_learnt_after_its_checkout_date_is_cancelled_at_once():
    # Given a line promised from a PO that is overdue, nobody having moved its ETA, past T:
    # the slip is learnt after T with no notice sent (by the nightly re-promise, or when the
    # ETA is moved at last), so the order counts as cancelled (435.2(c)(5)) and is; the
    # cancellation right at the assessment's commit is test_us_sequences'
    _us_sequence(("day_passes", {"days": 5}), ("day_passes", {"days": 5}), ("slip", {"days": 1}),
                 eta_days=5)
