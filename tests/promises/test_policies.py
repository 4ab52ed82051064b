"""Table-driven tests of the regional delay-notice policies; no database, no Django."""

from __future__ import annotations

import ast
import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from workflow.policies import (
    EUPolicy,
    RegionRules,
    SlipDecision,
    SlipFacts,
    UKPolicy,
    USPolicy,
    policy_for,
)

ORDERED = date(2026, 3, 2)  # Monday
T = date(2026, 3, 16)  # the promised date, a Monday
TODAY = date(2026, 3, 10)


def facts(**changes) -> SlipFacts:
    """Build a first slip of 10 days past T, known on TODAY, in both US and EU/UK terms."""
    base = SlipFacts(
        ordered_on=ORDERED,
        communicated_ship_date=T,
        communicated_delivery_to=T,
        new_ship_date=T + timedelta(days=10),
        new_delivery_to=T + timedelta(days=10),
        today=TODAY,
    )
    return dataclasses.replace(base, **changes)


def days(n: int) -> date:
    return T + timedelta(days=n)


# One row per encodable rule of docs/regional-rules.md:
# (region, method, argument, expected attributes or value, citation the decision must carry).
RULE_ROWS = [
    # United States: 16 CFR 435
    pytest.param(
        "US",
        "decide",
        facts(communicated_ship_date=None, new_ship_date=date(2026, 4, 10)),
        {
            "promised_date": date(2026, 4, 1),
            "default_promise_applied": True,
            "notice_due_by": date(2026, 4, 1),
        },
        "16 CFR 435.2(a)(1)(ii)",
        id="16 CFR 435.2(a)(1)(ii) no date stated: T is 30 days from the order",
    ),
    pytest.param(
        "US",
        "decide",
        facts(
            communicated_ship_date=None,
            new_ship_date=date(2026, 4, 30),
            buyer_applied_for_credit=True,
        ),
        {"promised_date": date(2026, 4, 21), "default_promise_applied": True},
        "16 CFR 435.2(a)(2)",
        id="16 CFR 435.2(a)(2) buyer applied for credit: T is 50 days from the order",
    ),
    pytest.param(
        "US",
        "decide",
        facts(),
        {
            "notice_kind": "delay_notice",
            "notice_due_by": T,
            "measures": "shipment",
            "customer_may_terminate_now": True,
            "default_promise_applied": False,
        },
        "16 CFR 435.2(b)(1)",
        id="16 CFR 435.2(b)(1) delay option notice: shipment measured, due no later than T",
    ),
    pytest.param(
        "US",
        "decide",
        facts(new_ship_date=days(30)),
        {"silence_is_consent": True, "express_consent_required": False, "cancel_on": None},
        "16 CFR 435.2(b)(1)(ii)",
        id="16 CFR 435.2(b)(1)(ii) first short delay: silence is consent",
    ),
    pytest.param(
        "US",
        "decide",
        facts(new_ship_date=days(31)),
        {"silence_is_consent": False, "express_consent_required": True, "cancel_on": days(30)},
        "16 CFR 435.2(c)(2)",
        id="16 CFR 435.2(b)(1)(iii), (c)(2) first long delay: express consent, cancel at T + 30",
    ),
    pytest.param(
        "US",
        "decide",
        facts(new_ship_date=None),
        {
            "silence_is_consent": False,
            "express_consent_required": True,
            "cancel_on": days(30),
            "revised_date": None,
        },
        "16 CFR 435.2(b)(1)(iii)",
        id="16 CFR 435.2(b)(1)(iii), (c)(2) indefinite delay: express consent, cancel at T + 30",
    ),
    pytest.param(
        "US",
        "decide",
        facts(delay_notices_sent=1, new_ship_date=days(5)),
        {
            "notice_kind": "renewed_delay_notice",
            "notice_due_by": T,
            "silence_is_consent": False,
            "express_consent_required": True,
            "cancel_on": T,
        },
        "16 CFR 435.2(c)(3)",
        id="16 CFR 435.2(b)(2), (c)(3) renewed delay: express consent, cancel at the revised date",
    ),
    pytest.param(
        "US",
        "past_due",
        facts(today=days(1)),
        True,
        None,
        id="16 CFR 435.2(c)(5) no notice and not shipped by T: treated as cancelled",
    ),
    pytest.param(
        "US",
        "refund_due_by",
        date(2026, 11, 20),
        date(2026, 12, 2),
        None,
        id="16 CFR 435.1(b), (d) refund within 7 working days",
    ),
    # European Union: Directive 2011/83/EU
    pytest.param(
        "EU",
        "decide",
        facts(communicated_delivery_to=None, new_delivery_to=date(2026, 4, 10)),
        {
            "promised_date": date(2026, 4, 1),
            "default_promise_applied": True,
            "measures": "delivery",
        },
        "Directive 2011/83/EU Art. 18(1)",
        id="Directive 2011/83/EU Art. 18(1) no time agreed: deliver within 30 days of the contract",
    ),
    pytest.param(
        "EU",
        "decide",
        facts(new_delivery_to=days(90)),
        {
            "customer_may_set_additional_period": True,
            "customer_may_terminate_now": False,
            "cancel_on": None,
            "silence_is_consent": False,
            "express_consent_required": False,
        },
        "Directive 2011/83/EU Art. 18(2) ¶1",
        id="Directive 2011/83/EU Art. 18(2) ¶1 date missed: additional period, never auto-ended",
    ),
    pytest.param(
        "EU",
        "decide",
        facts(essential_date=True),
        {"customer_may_terminate_now": True, "cancel_on": None},
        "Directive 2011/83/EU Art. 18(2) ¶2",
        id="Directive 2011/83/EU Art. 18(2) ¶2 essential date: terminate at once",
    ),
    pytest.param(
        "EU",
        "refund_due_by",
        date(2026, 11, 20),
        date(2026, 12, 4),
        None,
        id="Directive 2011/83/EU Art. 18(3), Art. 13 refund within 14 calendar days",
    ),
    pytest.param(
        "EU",
        "decide",
        facts(),
        {"withdrawal_days": 14},
        "Directive 2011/83/EU Art. 9",
        id="Directive 2011/83/EU Art. 9 14-day withdrawal right",
    ),
    pytest.param(
        "EU",
        "decide",
        facts(
            today=date(2026, 6, 19),
            communicated_delivery_to=date(2026, 7, 1),
            new_delivery_to=date(2026, 7, 10),
        ),
        {"withdrawal_button": True},
        "Directive 2011/83/EU Art. 11a (Directive (EU) 2023/2673)",
        id="Directive 2011/83/EU Art. 11a withdrawal button from 19 June 2026",
    ),
    pytest.param(
        "EU",
        "decide",
        facts(
            today=date(2026, 6, 18),
            communicated_delivery_to=date(2026, 7, 1),
            new_delivery_to=date(2026, 7, 10),
        ),
        {"withdrawal_button": False},
        "Directive 2011/83/EU Art. 18(2) ¶1",
        id="Directive 2011/83/EU Art. 11a no withdrawal button before 19 June 2026",
    ),
    # United Kingdom: CRA 2015, CCR 2013
    pytest.param(
        "UK",
        "decide",
        facts(communicated_delivery_to=None, new_delivery_to=date(2026, 4, 10)),
        {
            "promised_date": date(2026, 4, 1),
            "default_promise_applied": True,
            "measures": "delivery",
        },
        "CRA 2015 s.28(3)-(4)",
        id="CRA 2015 s.28(3)-(4) no time agreed: deliver within 30 days after the contract",
    ),
    pytest.param(
        "UK",
        "decide",
        facts(essential_date=True),
        {"customer_may_terminate_now": True, "cancel_on": None},
        "CRA 2015 s.28(6)",
        id="CRA 2015 s.28(6) time essential: contract at an end at once",
    ),
    pytest.param(
        "UK",
        "decide",
        facts(new_delivery_to=None),
        {
            "customer_may_set_additional_period": True,
            "customer_may_terminate_now": False,
            "cancel_on": None,
            "express_consent_required": False,
        },
        "CRA 2015 s.28(7)-(8)",
        id="CRA 2015 s.28(7)-(8) other missed delivery: period set by consumer, never auto-ended",
    ),
    pytest.param(
        "UK",
        "refund_due_by",
        date(2026, 11, 20),
        date(2026, 12, 4),
        None,
        id="CRA 2015 s.28(9), CCR 2013 reg 34 refund within 14 calendar days",
    ),
    pytest.param(
        "UK",
        "decide",
        facts(),
        {"withdrawal_days": 14, "withdrawal_button": False},
        "CCR 2013 regs 29-31",
        id="CCR 2013 regs 29-31 14-day cancellation right",
    ),
]


@pytest.mark.parametrize(("region", "method", "argument", "expected", "cited"), RULE_ROWS)
def test_regional_rule(region, method, argument, expected, cited):
    result = getattr(policy_for(region), method)(argument)

    if isinstance(expected, dict):
        assert {name: getattr(result, name) for name in expected} == expected
    else:
        assert result == expected
    if cited is not None:
        assert cited in result.citations


@pytest.mark.parametrize(
    ("today", "overdue", "past_due"),
    [
        pytest.param(T - timedelta(days=1), False, False, id="16 CFR 435.2(b)(1) day before T"),
        pytest.param(T, False, False, id="16 CFR 435.2(b)(1) notice on T itself is in time"),
        pytest.param(days(1), True, True, id="16 CFR 435.2(b)(1), (c)(5) notice after T is none"),
    ],
)
def test_us_notice_is_due_by_t(today, overdue, past_due):
    policy = USPolicy()
    slip = facts(today=today)

    decision = policy.decide(slip)

    assert decision.notice_due_by == T
    assert decision.notice_overdue is overdue
    assert policy.past_due(slip) is past_due


@pytest.mark.parametrize(
    "slip",
    [
        pytest.param(
            facts(today=days(5), delay_notices_sent=1), id="16 CFR 435.2(c)(5) notice sent"
        ),
        pytest.param(facts(today=days(5), new_ship_date=T), id="16 CFR 435.2(c)(5) no slip"),
    ],
)
def test_us_past_due_needs_a_slip_without_any_notice(slip):
    assert USPolicy().past_due(slip) is False


@pytest.mark.parametrize("region", ["US", "EU", "UK"])
def test_unknown_new_date_is_a_slip(region):
    slip = facts(new_ship_date=None, new_delivery_to=None)

    assert policy_for(region).is_slip(slip) is True
    assert policy_for(region).decide(slip).revised_date is None


@pytest.mark.parametrize("region", ["US", "EU", "UK"])
def test_revised_date_on_or_before_the_promise_is_no_slip(region):
    policy = policy_for(region)
    slip = facts(new_ship_date=T, new_delivery_to=T - timedelta(days=1))

    assert policy.is_slip(slip) is False
    with pytest.raises(ValueError, match="does not slip"):
        policy.decide(slip)


@pytest.mark.parametrize(
    ("slip", "cancel_on", "consent_required"),
    [
        pytest.param(
            facts(delay_notices_sent=2, new_ship_date=None),
            T, True,
            id="16 CFR 435.2(b)(2) second renewed delay, date unknown: cancel at the agreed date",
        ),
        pytest.param(
            facts(delay_notices_sent=1, express_consent=True),
            None, False,
            id="16 CFR 435.2(c)(3) renewed delay with express consent: no cancellation",
        ),
        pytest.param(
            facts(new_ship_date=None, agreed_open_ended=True, delay_notices_sent=1),
            None, False,
            id="16 CFR 435.2(b)(1)(iii) indefinite delay with express consent: never cancelled",
        ),
    ],
)
def test_us_renewed_delay_and_express_consent(slip, cancel_on, consent_required):
    decision = USPolicy().decide(slip)

    assert decision.express_consent_required is consent_required
    assert decision.cancel_on == cancel_on
    assert decision.customer_may_terminate_now is True


def test_us_a_second_slip_never_moves_a_fixed_cancellation_date():
    # Given a 45-day first delay whose notice fixed the cancellation at T + 30
    first = USPolicy().decide(facts(new_ship_date=T + timedelta(days=45)))
    assert first.cancel_on == T + timedelta(days=30)
    # When the supplier slips again before then, the customer having said nothing
    second = USPolicy().decide(facts(communicated_ship_date=T + timedelta(days=45),
                                     new_ship_date=T + timedelta(days=60), delay_notices_sent=1,
                                     auto_cancel_on=first.cancel_on))
    # Then the renewed notice tells the new date and the cancellation date stands
    assert second.notice_kind == "renewed_delay_notice"
    assert second.cancel_on == first.cancel_on and second.fixed_deadline
    assert second.express_consent_required and not second.notice_overdue


def test_us_a_creeping_slip_is_cancelled_at_the_date_agreed_by_silence():
    # Given a one-day first delay the customer accepted by silence (A moves to T + 1)
    agreed = T + timedelta(days=1)
    # When it creeps one more day: a renewed notice, cancellation after A
    renewed = USPolicy().decide(facts(communicated_ship_date=agreed, agreed_ship_date=agreed,
                                      new_ship_date=agreed + timedelta(days=1), delay_notices_sent=1))
    assert renewed.cancel_on == agreed and renewed.notice_due_by == agreed
    # And when it creeps again, the date fixed by the renewed notice stands
    again = USPolicy().decide(facts(communicated_ship_date=agreed + timedelta(days=1),
                                    agreed_ship_date=agreed, auto_cancel_on=agreed,
                                    new_ship_date=agreed + timedelta(days=2), delay_notices_sent=2))
    assert again.cancel_on == agreed


def test_us_a_slip_within_the_agreed_date_only_informs():
    # Given the customer holds us to T + 20 and was last told T + 5 (an earlier date)
    decision = USPolicy().decide(facts(communicated_ship_date=T + timedelta(days=5),
                                       agreed_ship_date=T + timedelta(days=20),
                                       new_ship_date=T + timedelta(days=15), delay_notices_sent=1,
                                       today=T + timedelta(days=8)))
    # Then nothing is cancelled and no consent is needed: the date is within the agreement
    assert decision.cancel_on is None and decision.silence_is_consent
    assert decision.notice_due_by == T + timedelta(days=20) and not decision.notice_overdue


def test_us_past_due_counts_from_the_agreed_date():
    policy = USPolicy()
    agreed = T + timedelta(days=10)
    slip = facts(agreed_ship_date=agreed, new_ship_date=agreed + timedelta(days=3))
    assert policy.past_due(dataclasses.replace(slip, today=agreed)) is False
    assert policy.past_due(dataclasses.replace(slip, today=agreed + timedelta(days=1))) is True
    assert policy.past_due(dataclasses.replace(slip, today=agreed + timedelta(days=1),
                                               agreed_open_ended=True)) is False


@pytest.mark.parametrize(
    ("region", "cancelled_on", "due_by"),
    [
        pytest.param("US", date(2026, 3, 4), date(2026, 3, 13), id="16 CFR 435.1 skips a weekend"),
        pytest.param(
            "US",
            date(2026, 11, 20),
            date(2026, 12, 2),
            id="16 CFR 435.1 skips a weekend and Thanksgiving 2026-11-26",
        ),
        pytest.param(
            "US",
            date(2026, 6, 30),
            date(2026, 7, 10),
            id="16 CFR 435.1 skips Independence Day observed 2026-07-03",
        ),
        pytest.param(
            "US",
            date(2026, 12, 24),
            date(2027, 1, 6),
            id="16 CFR 435.1 skips Christmas and New Year across years",
        ),
        pytest.param(
            "EU",
            date(2026, 12, 24),
            date(2027, 1, 7),
            id="Directive 2011/83/EU Art. 13 counts calendar days",
        ),
        pytest.param(
            "UK", date(2026, 12, 24), date(2027, 1, 7), id="CCR 2013 reg 34 counts calendar days"
        ),
    ],
)
def test_refund_due_by(region, cancelled_on, due_by):
    assert policy_for(region).refund_due_by(cancelled_on) == due_by


@pytest.mark.parametrize("region", ["EU", "UK"])
@pytest.mark.parametrize(
    "slip",
    [
        pytest.param(facts(new_delivery_to=days(365), today=days(200)), id="long delay, long past"),
        pytest.param(facts(new_delivery_to=None, today=days(60)), id="unknown date"),
        pytest.param(facts(delay_notices_sent=3, today=days(1)), id="renewed delay"),
        pytest.param(facts(essential_date=True, today=days(1)), id="essential date"),
    ],
)
def test_eu_uk_never_cancel_on_their_own(region, slip):
    policy = policy_for(region)

    decision = policy.decide(slip)

    assert decision.cancel_on is None
    assert policy.past_due(slip) is False


@pytest.mark.parametrize(
    ("region", "essential", "may_terminate_now"),
    [
        pytest.param("EU", True, True, id="Directive 2011/83/EU Art. 18(2) ¶2 essential"),
        pytest.param("EU", False, False, id="Directive 2011/83/EU Art. 18(2) ¶1 not essential"),
        pytest.param("UK", True, True, id="CRA 2015 s.28(6) essential"),
        pytest.param("UK", False, False, id="CRA 2015 s.28(7) not essential"),
        pytest.param("US", False, True, id="16 CFR 435.2(b)(1) US buyer may always cancel"),
    ],
)
def test_essential_date_lets_the_customer_terminate_at_once(region, essential, may_terminate_now):
    decision = policy_for(region).decide(facts(essential_date=essential))

    assert decision.customer_may_terminate_now is may_terminate_now


@pytest.mark.parametrize(
    ("region", "credit", "promise"),
    [
        pytest.param("US", False, date(2026, 4, 1), id="16 CFR 435.2(a)(1)(ii) 30 days"),
        pytest.param("US", True, date(2026, 4, 21), id="16 CFR 435.2(a)(1)(ii) 50 days on credit"),
        pytest.param("EU", True, date(2026, 4, 1), id="Directive 2011/83/EU Art. 18(1) 30 days"),
        pytest.param("UK", True, date(2026, 4, 1), id="CRA 2015 s.28(3) 30 days"),
    ],
)
def test_default_promise_when_no_date_stated(region, credit, promise):
    policy = policy_for(region)

    assert policy.default_promise(ORDERED, buyer_applied_for_credit=credit) == promise


def test_default_promise_from_the_order_date_sets_the_us_deadlines():
    slip = facts(communicated_ship_date=None, new_ship_date=None, buyer_applied_for_credit=True)

    decision = USPolicy().decide(slip)

    assert decision.notice_due_by == date(2026, 4, 21)
    assert decision.cancel_on == date(2026, 5, 21)
    assert decision.citations[0] == "16 CFR 435.2(a)(2)"


@pytest.mark.parametrize(
    ("region", "rules", "method", "argument", "expected"),
    [
        pytest.param(
            "US",
            RegionRules(us_silence_consent_max_delay_days=5),
            "decide",
            facts(),
            {"silence_is_consent": False, "cancel_on": days(30)},
            id="us_silence_consent_max_delay_days",
        ),
        pytest.param(
            "US",
            RegionRules(us_auto_cancel_after_days=45),
            "decide",
            facts(new_ship_date=None),
            {"cancel_on": days(45)},
            id="us_auto_cancel_after_days",
        ),
        pytest.param(
            "US",
            RegionRules(us_refund_working_days=1),
            "refund_due_by",
            date(2026, 11, 25),
            date(2026, 11, 27),
            id="us_refund_working_days",
        ),
        pytest.param(
            "US",
            RegionRules(us_default_ship_days=10),
            "default_promise",
            ORDERED,
            date(2026, 3, 12),
            id="us_default_ship_days",
        ),
        pytest.param(
            "US",
            RegionRules(us_default_ship_days_credit=60),
            "decide",
            facts(communicated_ship_date=None, new_ship_date=None, buyer_applied_for_credit=True),
            {"promised_date": date(2026, 5, 1)},
            id="us_default_ship_days_credit",
        ),
        pytest.param(
            "EU",
            RegionRules(eu_default_delivery_days=20),
            "default_promise",
            ORDERED,
            date(2026, 3, 22),
            id="eu_default_delivery_days",
        ),
        pytest.param(
            "EU",
            RegionRules(eu_refund_days=10),
            "refund_due_by",
            ORDERED,
            date(2026, 3, 12),
            id="eu_refund_days",
        ),
        pytest.param(
            "EU",
            RegionRules(eu_withdrawal_button_from=TODAY),
            "decide",
            facts(),
            {"withdrawal_button": True},
            id="eu_withdrawal_button_from",
        ),
        pytest.param(
            "EU",
            RegionRules(withdrawal_days=30),
            "decide",
            facts(),
            {"withdrawal_days": 30},
            id="withdrawal_days",
        ),
        pytest.param(
            "UK",
            RegionRules(uk_default_delivery_days=7),
            "default_promise",
            ORDERED,
            date(2026, 3, 9),
            id="uk_default_delivery_days",
        ),
        pytest.param(
            "UK",
            RegionRules(uk_refund_days=3),
            "refund_due_by",
            ORDERED,
            date(2026, 3, 5),
            id="uk_refund_days",
        ),
    ],
)
def test_settings_override_the_numbers(region, rules, method, argument, expected):
    result = getattr(policy_for(region, rules), method)(argument)

    if isinstance(expected, dict):
        assert {name: getattr(result, name) for name in expected} == expected
    else:
        assert result == expected


def test_region_rules_defaults_follow_regional_rules_md():
    rules = RegionRules()

    assert (rules.us_default_ship_days, rules.us_default_ship_days_credit) == (30, 50)
    assert (rules.us_silence_consent_max_delay_days, rules.us_auto_cancel_after_days) == (30, 30)
    assert rules.us_refund_working_days == 7
    assert (rules.eu_default_delivery_days, rules.uk_default_delivery_days) == (30, 30)
    assert (rules.eu_refund_days, rules.uk_refund_days, rules.withdrawal_days) == (14, 14, 14)
    assert rules.eu_withdrawal_button_from == date(2026, 6, 19)


def test_region_rules_reject_negative_numbers():
    with pytest.raises(ValueError, match="us_refund_working_days"):
        RegionRules(us_refund_working_days=-1)


@pytest.mark.parametrize(
    ("code", "policy_class", "measures"),
    [
        pytest.param("US", USPolicy, "shipment", id="US"),
        pytest.param("eu", EUPolicy, "delivery", id="eu lower case"),
        pytest.param(" UK ", UKPolicy, "delivery", id="UK padded"),
    ],
)
def test_policy_for_returns_the_region_policy(code, policy_class, measures):
    rules = RegionRules(withdrawal_days=20)

    policy = policy_for(code, rules)

    assert type(policy) is policy_class
    assert policy.region == code.strip().upper()
    assert policy.measures == measures
    assert policy.rules is rules


def test_policy_for_rejects_an_unknown_region():
    with pytest.raises(ValueError, match="'FR'"):
        policy_for("FR")


def test_decisions_are_frozen():
    decision = USPolicy().decide(facts())

    assert isinstance(decision, SlipDecision)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.cancel_on = T  # type: ignore[misc]


def test_policy_modules_import_no_django():
    package = Path(USPolicy.__module__.replace(".", "/")).parent
    root = Path(__file__).resolve().parents[2] / package

    modules = sorted(root.glob("*.py"))

    assert {module.name for module in modules} >= {
        "__init__.py",
        "base.py",
        "us.py",
        "eu.py",
        "uk.py",
    }
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        assert not {name for name in imported if name.split(".")[0] == "django"}, module.name
