"""Templates per kind (and region) in every language: the fallback rule, babel formats, safe markup."""

from datetime import date

import pytest

from notifications.locales import customer_language, date_format, locale_for, money_format
from notifications.models import Notice
from notifications.rendering import Trusted, notice_render, template_names

KINDS = [k for k, _ in Notice.Kind.choices]
REGIONS = {"US": "en_US", "EU": "de_DE", "UK": "en_GB"}
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "pl_PL"]


def context(**overrides):
    ctx = {
        "shop_name": "Lamp & Co", "customer_name": "Ada", "order_ref": "A-1", "region": "US",
        "sku_name": "Desk lamp", "qty": 1, "measures": "shipment", "renewed": False, "unknown": False,
        "old_date": "1 Dec", "new_date": "11 Dec", "estimate_date": "11 Dec", "cancel_on": "31 Dec",
        "consent_by": "31 Dec", "silence_is_consent": True, "express_consent_required": False,
        "customer_may_terminate_now": False, "withdrawal_button": True, "citations": "cite",
        "accept_url": Trusted("https://shop.example/a/"), "cancel_url": Trusted("https://shop.example/c/"),
        "refund_working_days": 7, "refund_days": 14, "withdrawal_days": 14, "auto_cancel_days": 30,
        "reason": "no_consent", "initiated_by": "system", "amount": "$40.00", "refund_due_by": "9 Dec",
        "lines": [{"qty": 1, "sku_name": "Desk lamp", "preorder": False, "confirmed": True,
                   "ship_date": "1 Dec", "delivery_from": "3 Dec", "delivery_to": "5 Dec"}],
    }
    ctx.update(overrides)
    return ctx


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_kind_renders_in_every_region_and_locale_as_text_and_html(kind, region, locale):
    rendered = notice_render(kind=kind, region=region, locale=locale, region_locale=REGIONS[region],
                             context=context(region=region))
    assert rendered.subject and "{{" not in rendered.text and "{%" not in rendered.text
    assert "Ada" in rendered.text and "Ada" in rendered.html
    assert "**" not in rendered.text and "<html" in rendered.html


def test_a_locale_without_a_catalog_falls_back_to_the_regions_english_never_another_language():
    assert template_names("renewed_delay_notice", "EU") == [
        "notifications/email/renewed_delay_notice/EU.txt", "notifications/email/renewed_delay_notice.txt",
        "notifications/email/delay_notice/EU.txt", "notifications/email/delay_notice.txt"]
    austrian = notice_render(kind="delay_notice", region="EU", locale="de_AT", region_locale="de_DE",
                             context=context(region="EU", measures="delivery"))
    assert austrian.template.endswith("delay_notice/EU.txt") and "Neuer Liefertermin" in austrian.subject
    polish = notice_render(kind="delay_notice", region="EU", locale="pl_PL", region_locale="de_DE",
                           context=context(region="EU", measures="delivery"))
    assert polish.subject.startswith("New delivery date") and 'lang="en-US"' in polish.html
    assert locale_for("xx-nonsense", "en_GB") == "en_GB" and locale_for("fr-FR", "de_DE") == "fr_FR"
    assert locale_for("pl_PL", "de_DE") == "en_US" and locale_for("it_IT", "de_DE") == "it_IT"
    assert customer_language("en_US", "en_GB").language == "en-gb" and locale_for(None, "en_US") == "en_US"
    assert customer_language("en_IE", "de_DE").locale == "en_IE"
    assert customer_language("de_AT", "de_DE").language == "de"
    assert customer_language("de_AT", "de_DE").locale == "de_AT"
    assert customer_language("xx_YY", "en_GB").language == "en-gb"


def test_dates_and_money_follow_the_customers_locale():
    day = date(2026, 12, 12)
    assert date_format(day, "en_US") == "December 12, 2026"
    assert date_format(day, "en_GB") == "12 December 2026"
    assert date_format(day, "de_DE") == "12. Dezember 2026"
    assert date_format(day, "fr_FR") == "12 décembre 2026"
    assert money_format("1234.5", "USD", "en_US") == "$1,234.50"
    assert money_format("20", "GBP", "en_GB") == "£20.00"
    assert money_format("1234.5", "EUR", "de_DE") == "1.234,50\xa0€"


def test_text_from_customers_never_becomes_markup():
    evil = "[Click](https://evil.example) **now** <script>"
    rendered = notice_render(kind="earlier_date", region="US", locale="en_US", region_locale="en_US",
                             context=context(customer_name=evil))
    assert "evil.example" not in rendered.html.split("Click")[0]
    assert 'href="https://evil.example"' not in rendered.html and "<script>" not in rendered.html
    assert "[Click](https://evil.example) **now** <script>" in rendered.text


def test_buttons_and_bold_render_as_html_and_plain_text():
    rendered = notice_render(kind="delay_notice", region="US", locale="en_US", region_locale="en_US",
                             context=context())
    assert '<a href="https://shop.example/a/"' in rendered.html
    assert "I accept the new date: https://shop.example/a/" in rendered.text
    assert "Lamp &amp; Co" in rendered.html and "Lamp & Co" in rendered.text
    assert "<strong>Our new shipping date is 11 Dec.</strong>" in rendered.html
