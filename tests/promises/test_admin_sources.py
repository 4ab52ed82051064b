"""A promise's sources as the admin shows them."""

from types import SimpleNamespace

from promises.admin import sources_html


def test_stock_shows_no_date_and_a_po_shows_when_it_is_available():
    promise = SimpleNamespace(sources=[
        {"kind": "stock", "reference": "", "qty": 2, "available_on": None},
        {"kind": "purchase_order", "reference": "PO-7", "qty": 1, "available_on": "2027-01-06"},
    ])
    assert str(sources_html(promise)) == "2 × stock<br>1 × PO PO-7 (from 2027-01-06)"
    assert sources_html(SimpleNamespace(sources=[])) == "—"
