"""Every customer text in the customer's language, or in the region's English: never another."""

from datetime import date
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client

from inventory.models import Region
from notifications.content import cancellation_decider
from notifications.models import Notice
from notifications.rendering import Trusted, notice_render
from promises.labels import promise_label
from tests.notifications.test_rendering import context

KINDS = [k for k, _ in Notice.Kind.choices]
CATALOGS = sorted(Path(settings.LOCALE_PATHS[0]).glob("*/LC_MESSAGES/django.po"))
#: (region, region locale, customer locale) -> a sentence of its delay notice
DELAY_SENTENCES = {
    ("US", "en_US", "en_US"): "Our new shipping date is",
    ("UK", "en_GB", "en_GB"): "You may set a further period for delivery that suits you",
    ("EU", "de_DE", "de_DE"): "Neuer Liefertermin: bis zum",
    ("EU", "de_DE", "fr_FR"): "Nouvelle date de livraison : d’ici le",
    ("EU", "de_DE", "it_IT"): "Nuova data di consegna: entro il",
    ("EU", "de_DE", "es_ES"): "Nueva fecha de entrega: a más tardar el",
    ("EU", "de_DE", "pl_PL"): "New delivery date: by",
    ("EU", "de_DE", "xx_YY"): "New delivery date: by",
    ("EU", "de_DE", ""): "New delivery date: by",
    ("EU", "de_DE", None): "New delivery date: by",
    ("EU", "de_DE", "de-DE"): "Neuer Liefertermin: bis zum",
}
FOOTERS = {"de_DE": "Fragen? Antworten Sie einfach auf diese E-Mail.",
           "fr_FR": "Des questions ? Répondez simplement à cet e-mail.",
           "it_IT": "Domande? Rispondi a questa e-mail.", "es_ES": "¿Preguntas? Responda a este correo.",
           "pl_PL": "Questions? Reply to this e-mail."}


def render(kind, region, region_locale, locale, **overrides):
    if "reason" in overrides:
        overrides["decided_by"] = cancellation_decider(reason=overrides["reason"],
                                                       initiated_by=overrides.get("initiated_by"))
    return notice_render(kind=kind, region=region, locale=locale, region_locale=region_locale,
                         context=context(region=region, measures="shipment" if region == "US" else "delivery",
                                         **overrides))


@pytest.mark.parametrize(("region", "region_locale", "locale"), list(DELAY_SENTENCES))
def test_the_delay_notice_speaks_the_customers_language_or_the_regions_english(region, region_locale, locale):
    rendered = render("delay_notice", region, region_locale, locale)
    sentence = DELAY_SENTENCES[(region, region_locale, locale)]
    assert sentence in rendered.text and "Neuer" not in rendered.text.replace(sentence, "") or "Neuer" in sentence


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("locale", list(FOOTERS))
def test_every_eu_kind_has_translated_words_and_footers(kind, locale):
    rendered = render(kind, "EU", "de_DE", locale, reason="out_of_stock", initiated_by="agent")
    if kind not in ("consent_received", "earlier_date"):
        assert FOOTERS[locale] in rendered.text
    english = locale == "pl_PL"
    assert ("Hello Ada," in rendered.text) is english
    assert ("Kind regards," in rendered.text) is english
    assert "Lamp & Co" in rendered.text


def test_italian_and_spanish_customers_read_italian_and_spanish_with_their_dates():
    italian = render("earlier_date", "EU", "de_DE", "it_IT", new_date="12 dicembre 2026")
    assert "Buone notizie" in italian.subject and "Cordiali saluti," in italian.text
    spanish = render("cancellation_refund_confirmation", "EU", "de_DE", "es_ES",
                     reason="customer_request", initiated_by="customer")
    assert "Confirmamos que ha resuelto el contrato" in spanish.text and "Hola, Ada:" in spanish.text


def test_the_cancellation_says_who_decided():
    def text(region, **ctx):
        return render("cancellation_refund_confirmation", region, {"US": "en_US"}.get(region, "en_GB"),
                      "en_US", **ctx).text
    assert "As you asked, we have cancelled" in text("US", reason="customer_declined_delay", initiated_by="customer")
    seller = text("US", reason="out_of_stock", initiated_by="agent")
    assert "unable to supply" in seller and "As you asked" not in seller
    assert "unable to supply" in text("US", reason="other", initiated_by="agent")
    assert "did not receive your agreement" in text("US", reason="no_consent", initiated_by="system")
    assert "was cancelled through the store" in text("US", reason="partner", initiated_by="partner", channel="")
    withdrawal = text("EU", reason="withdrawal", initiated_by="customer",
                      decided_at="9 December 2026 at 14:03 CET")
    assert "We received it on 9 December 2026 at 14:03 CET" in withdrawal


def test_wording_never_says_agreed_for_a_date_the_seller_set():
    for locale, agreed in (("en_GB", "the date we agreed"), ("de_DE", "wie vereinbart"), ("fr_FR", "convenue")):
        rendered = render("delay_notice", "EU", "de_DE", locale)
        assert agreed not in rendered.text
    assert "dem Ihnen genannten Termin" in render("delay_notice", "EU", "de_DE", "de_DE").text
    assert "la date que nous vous avions indiquée" in render("delay_notice", "EU", "de_DE", "fr_FR").text


def test_an_unknown_us_date_is_not_stated_and_the_button_agrees_to_wait():
    rendered = render("delay_notice", "US", "en_US", "en_US", unknown=True, estimate_date="March 3, 2027",
                      silence_is_consent=False, express_consent_required=True)
    assert "March 3, 2027" not in rendered.text and "our supplier has not confirmed" in rendered.text
    assert "I agree to wait: https://shop.example/a/" in rendered.text


def test_a_renewed_us_notice_names_the_earlier_deadline():
    rendered = render("renewed_delay_notice", "US", "en_US", "en_US", renewed=True, silence_is_consent=False,
                      express_consent_required=True, cancel_on="January 5, 2027")
    assert "automatically after January 5, 2027**" not in rendered.text
    assert "after January 5, 2027, the deadline in our earlier notice" in rendered.text


def test_an_open_ended_consent_needs_no_action():
    rendered = render("delay_notice", "US", "en_US", "en_US", consented_open_ended=True)
    assert "You need not do anything" in rendered.text and "I accept the new date" not in rendered.text


EU, US = Region(code="EU", locale="de_DE"), Region(code="US", locale="en_US")


def test_german_business_days_are_arbeitstage():
    label = promise_label(status="backorder", ship_date=date(2027, 2, 1), delivery_to=date(2027, 2, 12),
                          confirmed=False, region=EU, locale="de_DE", business_days=(31, 33))
    assert label == "Versand in 31–33 Arbeitstagen, Lieferung bis 12. Feb."
    assert promise_label(status="backorder", ship_date=date(2027, 2, 1), delivery_to=date(2027, 2, 12),
                         confirmed=False, region=EU, locale="pl_PL", business_days=(31, 33)) == (
        "Ships in 31–33 business days, delivered by Feb 12")
    assert promise_label(status="in_stock", ship_date=date(2027, 2, 1), delivery_to=None, confirmed=True,
                         region=EU, locale="it_IT").startswith("Disponibile")
    assert promise_label(status="in_stock", ship_date=date(2026, 12, 12), delivery_to=None, confirmed=True,
                         region=US, locale="xx_YY") == "In stock — ships Dec 12"


def test_context_values_are_never_markup():
    evil = "**x** [a](http://evil)"
    rendered = render("delay_notice", "EU", "de_DE", "it_IT", customer_name=evil,
                      accept_url=Trusted("https://shop.example/a/"))
    assert evil in rendered.text and 'href="http://evil"' not in rendered.html
    assert "**x** [a](http://evil)" in rendered.html


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parent.parent.name)
def test_every_catalog_is_complete_and_compiled(po):
    catalog = read_po(po.open("rb"))
    for message in catalog:
        if not message.id:
            continue
        strings = tuple(message.string) if isinstance(message.string, list | tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, message.id
    with (po.parent / "django.mo").open("rb") as mo:
        compiled = read_mo(mo)
    def entries(messages):
        return {(m.context.decode() if isinstance(m.context, bytes) else m.context,
                 tuple(m.id) if isinstance(m.id, list | tuple) else m.id): tuple(m.string) if isinstance(m.string, list | tuple) else m.string
                for m in messages if m.id}

    assert entries(compiled) == entries(catalog), "run manage.py compilemessages"


@pytest.mark.parametrize(("accept", "words"), [
    ("it", "Questo link non è valido"), ("es-ES,es;q=0.9", "Este enlace no es válido"),
    ("de-DE", "Dieser Link ist ungültig"), ("fr", "Ce lien n"), ("en", "This link is not valid"),
    ("pl", "This link is not valid")])
def test_the_invalid_link_page_follows_the_browsers_language(accept, words, db):
    page = Client().get("/notices/consent/nonsense/", HTTP_ACCEPT_LANGUAGE=accept)
    assert page.status_code == 400 and words in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("locale", "words"), [
    ("it_IT", "Nuova data di consegna"), ("es_ES", "Nueva fecha de entrega"), ("pl_PL", "New delivery date")])
def test_the_consent_page_speaks_italian_spanish_or_english(client, locale, words):
    from notifications.links import consent_token
    from tests.factories.promises import backorder_line
    from tests.workflow.steps import slip

    b = backorder_line("EU", eta_days=14, locale=locale)
    slip(b, days=12)
    token = consent_token(line_id=b.line.pk, version=b.promise.version, action="view")
    page = client.get(f"/notices/consent/{token}/").content.decode()
    assert words in page and "Neuer" not in page
