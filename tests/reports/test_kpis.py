"""Each KPI against the hand-built June book (tests/reports/conftest.py)."""

from datetime import date
from decimal import Decimal

import pytest

from reports import selectors
from reports.aggregates import money_round, percentile_of_sorted
from reports.selectors import ReportFilter
from tests.reports.conftest import JUNE

pytestmark = pytest.mark.django_db


def test_percentiles_interpolate_as_percentile_cont():
    assert percentile_of_sorted([5, 20, 28, 90], 0.9) == pytest.approx(71.4)
    assert percentile_of_sorted([4, 13], 0.5) == pytest.approx(8.5)
    assert percentile_of_sorted([], 0.5) is None


def test_money_rounds_half_to_even_at_cents():
    assert money_round(Decimal("0.125")) == Decimal("0.12")
    assert money_round(Decimal("0.135")) == Decimal("0.14")
    assert money_round(None) == Decimal("0.00")


def test_backorder_rate_counts_lines_and_units_placed_in_range(book):
    # Given ten lines placed in June, eight of them not covered by stock (l2 and l9 are)
    # When
    rate = selectors.backorder_rate(f=JUNE)
    # Then: units 2+1+4+3+1+1+2+1+1+1 = 17, backordered 17 - 1 - 1 = 15
    assert (rate.lines, rate.units, rate.backordered_lines, rate.backordered_units) == (10, 17, 8, 15)
    assert rate.line_rate == Decimal("80.00")
    assert rate.unit_rate == Decimal("88.24")


def test_backorder_rate_filters_by_region_and_channel(book):
    eu = selectors.backorder_rate(f=ReportFilter(JUNE.start, JUNE.end, region="EU"))
    amazon = selectors.backorder_rate(f=ReportFilter(JUNE.start, JUNE.end, channel="amazon-us"))
    assert (eu.lines, eu.backordered_lines) == (2, 2)
    assert (amazon.lines, amazon.backordered_lines) == (4, 3)


def test_open_book_values_units_and_cash_held_per_currency(book):
    # When
    result = selectors.open_book(f=JUNE)
    # Then USD: l1 2×30 (paid in full), l3 4×25 (half paid), l4 1×10; EUR: l5 2 of 3 × 11.11
    by = {b.currency: b for b in result.by_currency}
    assert set(by) == {"USD", "EUR"}
    assert (by["USD"].lines, by["USD"].units) == (3, 7)
    assert by["USD"].value == Decimal("170.00")
    assert by["USD"].cash_held == Decimal("120.00")
    assert (by["EUR"].lines, by["EUR"].units) == (1, 2)
    assert by["EUR"].value == Decimal("22.22")
    assert by["EUR"].cash_held == Decimal("22.22")


def test_open_book_ages_lines_in_buckets(book):
    # Ages on June 30: l3 5 days, l5 20, l1 28, l4 90
    result = selectors.open_book(f=JUNE)
    assert result.aging == [("0–7 days", 1, 4), ("8–14 days", 0, 0), ("15–30 days", 2, 4),
                            ("31–60 days", 0, 0), ("61+ days", 1, 1)]
    assert result.age_mean == pytest.approx(35.75)
    assert result.age_p90 == pytest.approx(71.4)


def test_open_book_as_of_an_earlier_day_counts_units_shipped_and_cancelled_later(book):
    # On June 15: l1 (2 × 30), l4 (1 × 10) and l6 (1 × 20, shipped only on June 18) were open;
    # l7 had shipped (June 13), l8 was cancelled (June 14), l3 and l10 were not yet placed;
    # l5 (EUR) was still whole: its shipment left on June 20; l12 was cancelled on June 7.
    result = selectors.open_book(f=JUNE, as_of=date(2026, 6, 15))
    by = {b.currency: b for b in result.by_currency}
    assert (by["USD"].lines, by["USD"].units, by["USD"].value) == (3, 4, Decimal("90.00"))
    assert (by["EUR"].lines, by["EUR"].units, by["EUR"].value) == (1, 3, Decimal("33.33"))


def test_promise_performance_measures_kept_promises_and_days_to_ship(book):
    # Given l6 first promised June 15, moved to June 20, shipped June 18 (13 days after placing)
    # and l7 promised June 12, shipped June 13 (5 days)
    # When
    p = selectors.promise_performance(f=JUNE)
    # Then
    assert (p.shipped_lines, p.first_kept, p.last_kept) == (2, 0, 1)
    assert p.first_kept_rate == Decimal("0.00")
    assert p.last_kept_rate == Decimal("50.00")
    assert p.days_to_ship_median == pytest.approx(9.0)
    assert p.days_to_ship_p90 == pytest.approx(12.2)


def test_supplier_slips_compare_current_eta_with_first_eta_on_record(book):
    slips = {s.supplier: s for s in selectors.supplier_slips(f=JUNE)}
    a, b = slips["Supplier A"], slips["Supplier B"]
    assert (a.po_lines, a.slipped, a.days_mean, a.days_p90) == (2, 2, 10.0, 10.0)
    assert a.slipped_rate == Decimal("100.00")
    assert (b.po_lines, b.slipped, b.days_mean, b.days_p90) == (3, 1, 4.0, 4.0)
    assert b.slipped_rate == Decimal("33.33")


def test_cancellations_of_backorders_by_reason_and_by_who_decided(book):
    c = selectors.cancellations(f=JUNE)
    reasons = [(g.currency, g.key, g.cancellations, g.units, g.amount) for g in c.by_reason]
    assert reasons == [
        ("EUR", "Customer declined the delay", 1, 1, Decimal("12.50")),
        ("USD", "No consent to a long delay (16 CFR 435.2(c))", 1, 1, Decimal("40.00")),
        ("USD", "Seller cannot supply", 1, 2, Decimal("30.00")),
    ]
    deciders = [(g.currency, g.key, g.cancellations, g.amount) for g in c.by_decider]
    assert deciders == [("EUR", "customer", 1, Decimal("12.50")),
                        ("USD", "automatic", 1, Decimal("40.00")),
                        ("USD", "seller", 1, Decimal("30.00"))]
    # l9 is cancelled too but was covered by stock: not a backorder
    assert (c.backordered_lines, c.cancelled_lines, c.rate) == (8, 3, Decimal("37.50"))


def test_refunds_due_overdue_and_paid_per_currency(book):
    usd, eur = sorted(selectors.refunds(f=JUNE), key=lambda r: r.currency, reverse=True)
    assert usd.currency == "USD"
    assert (usd.due_count, usd.due_amount) == (2, Decimal("90.00"))
    assert (usd.overdue_count, usd.overdue_amount) == (1, Decimal("50.00"))
    assert (usd.paid_count, usd.paid_amount, usd.paid_on_time) == (1, Decimal("30.00"), 1)
    assert (usd.days_to_refund_mean, usd.days_to_refund_p90, usd.days_vs_deadline_mean) == (5.0, 5.0, -2.0)
    assert (eur.due_count, eur.paid_count, eur.paid_amount, eur.paid_on_time) == (0, 1, Decimal("12.50"), 0)
    assert eur.on_time_rate == Decimal("0.00")
    assert (eur.days_to_refund_mean, eur.days_vs_deadline_mean) == (17.0, 3.0)


def test_notices_sent_on_time_against_their_legal_deadline(book):
    n = selectors.notices(f=JUNE)
    assert (n.sent, n.with_deadline, n.on_time) == (3, 2, 1)
    assert n.on_time_rate == Decimal("50.00")
    assert [(x.line_id, x.due_by, x.sent_on) for x in n.late] == [
        (book.lines["l3"].pk, date(2026, 6, 25), date(2026, 6, 26))]


def test_marketplace_health_per_channel_against_its_thresholds(book):
    health = {h.channel: h for h in selectors.marketplace_health(f=JUNE)}
    amazon, shop, eu = health["amazon-us"], health["shopify-us"], health["shopify-eu"]
    assert (amazon.shipments, amazon.late_shipments, amazon.tracked_shipments) == (1, 1, 0)
    assert (amazon.orders, amazon.seller_cancelled_orders) == (4, 0)
    assert amazon.breaches == ["late shipment", "valid tracking"]
    assert (shop.late_shipment_rate, shop.valid_tracking_rate) == (Decimal("0.00"), Decimal("100.00"))
    assert (shop.orders, shop.seller_cancelled_orders, shop.seller_cancel_rate) == (3, 1, Decimal("33.33"))
    assert shop.breaches == ["seller cancellation"]
    assert (eu.orders, eu.shipments, eu.breaches) == (2, 1, [])


def test_marketplace_thresholds_come_from_settings(book, settings):
    settings.REPORT_MARKETPLACE_THRESHOLDS = {"valid_tracking_rate_min": 0}
    health = {h.channel: h for h in selectors.marketplace_health(f=JUNE)}
    assert health["amazon-us"].breaches == ["late shipment"]
