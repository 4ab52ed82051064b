"""Customer-facing promise labels, in the customer's language (gettext) and date style.

US labels speak of ship dates (16 CFR 435 measures shipment); EU and UK labels add the
date by which delivery is undertaken (Directive 2011/83/EU art. 6(1)(g), CRA 2015 s.28),
even when the ship date is only an estimate in business days.

The choice of the customer's language lives here, below the notifications app that uses
it too: we write in the customer's language when the project has a catalog for it
(locale/<lang>/), and in English otherwise, British English in the UK region and American
English elsewhere. Dates follow the customer's own locale ("de_AT") when we write in their
language, and the region's English locale (en_GB or en_US) when we do not.
"""

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, ngettext

from promises.ports import workflow

#: The language the templates and labels are written in (their msgids).
SOURCE_LOCALE = "en_US"
UK_ENGLISH = "en_GB"
FALLBACK_LOCALE = SOURCE_LOCALE


@lru_cache(maxsize=256)
def locale_normalize(value) -> str | None:
    """Return a babel locale id ("de_DE") for "de-DE", "de_de" or "de"; None when unknown."""
    if not value or not isinstance(value, str):
        return None
    try:
        return str(Locale.parse(value.strip().replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


@lru_cache(maxsize=1)
def catalog_locales() -> frozenset[str]:
    """Return the locale directories that hold a compiled catalog ("de", "en_GB", ...)."""
    found = set()
    for path in getattr(settings, "LOCALE_PATHS", ()):
        for mo in Path(path).glob("*/LC_MESSAGES/django.mo"):
            found.add(mo.parent.parent.name)
    return frozenset(found)


def _catalog_for(locale: str) -> str | None:
    """Return the catalog that speaks a locale: "de_AT" -> "de"; None when there is none."""
    language = locale.split("_")[0]
    for candidate in (locale, language):
        if candidate in catalog_locales():
            return candidate
    return None


def region_english(region_locale: str | None) -> str:
    """Return the English locale of a region: its own when English (en_GB), else en_US."""
    region = locale_normalize(region_locale)
    return region if region in (SOURCE_LOCALE, UK_ENGLISH) else SOURCE_LOCALE


def locale_for(customer_locale: str | None, region_locale: str | None) -> str:
    """Return the locale to write to a customer in: theirs if we have its catalog, else English.

    Customers whose language we lack, and those with a bare or unknown locale, get the
    region's English (en_GB in the UK, en_US elsewhere); never another customer language.
    """
    locale = locale_normalize(customer_locale)
    if locale is None or _catalog_for(locale) is None and not locale.startswith("en"):
        return region_english(region_locale)
    if locale == "en":
        return region_english(region_locale)
    return locale


@dataclass(frozen=True)
class CustomerLanguage:
    """The language a text is written in and the locale its dates and money follow."""

    language: str  # a Django language code for translation.override: "de", "en-gb"
    locale: str  # a babel locale id: "de_AT", "en_IE"

    @property
    def html_lang(self) -> str:
        """Return the value of an HTML lang attribute: "de", "en-GB"."""
        if self.language.startswith("en"):
            return "en-GB" if self.language == "en-gb" else "en-US"
        return self.language


def customer_language(locale: str | None, region_locale: str | None) -> CustomerLanguage:
    """Return the language and formatting locale of a stored locale (any value, even garbage).

    English wording follows the region (British in the UK, American elsewhere); dates and
    money follow the customer's own locale ("en_IE") when it names one.
    """
    chosen = locale_for(locale, region_locale)
    if chosen.startswith("en"):
        english = region_english(region_locale)
        return CustomerLanguage(english.replace("_", "-").lower(), chosen)
    return CustomerLanguage(_catalog_for(chosen).replace("_", "-").lower(), chosen)


def format_short_date(value: date, locale: str) -> str:
    """Return "Dec 12" (en_US), "12 Dec" (en_GB), "12. Dez." (de), "12 déc." (fr)."""
    return format_skeleton("MMMd", value, locale=(locale or "en_US").replace("-", "_"))


def promise_label(*, status: str, ship_date: date | None, delivery_to: date | None,
                  confirmed: bool, region, locale: str,
                  business_days: tuple[int, int] | None = None) -> str:
    """Return the label shown beside a product or an order line.

    status is in_stock, backorder, preorder or unavailable; an unconfirmed promise shows a
    range of business days rather than a date it cannot stand behind. `region` (a Region)
    decides two things: the latest delivery date is given where its law measures delivery
    (its policy, through the workflow port), and a customer whose language we lack reads
    the English of the region's own locale (British in the UK).
    """
    speech = customer_language(locale, region.locale)
    delivery = delivery_to is not None and workflow().measures_delivery(region_code=region.code)
    return _label_in(speech.language, status, ship_date, delivery_to if delivery else None, confirmed,
                     speech.locale, business_days)


@lru_cache(maxsize=4096)
def _label_in(language, status, ship_date, delivery_to, confirmed, locale, business_days) -> str:
    """A label is a function of these alone (and of the translations, fixed for a process):
    a product page asked again and again gets it from here."""
    with translation.override(language):
        return _label(status=status, ship_date=ship_date, delivery_to=delivery_to, confirmed=confirmed,
                      locale=locale, business_days=business_days)


def _label(*, status, ship_date, delivery_to, confirmed, locale, business_days) -> str:
    if status == "unavailable" or ship_date is None:
        return gettext("Currently unavailable")
    delivery = delivery_to is not None
    if not confirmed and business_days is not None:
        low, high = business_days
        if status == "preorder":
            text = ngettext("Pre-order — ships in %(low)s–%(high)s business day",
                            "Pre-order — ships in %(low)s–%(high)s business days", high)
        else:
            text = ngettext("Ships in %(low)s–%(high)s business day",
                            "Ships in %(low)s–%(high)s business days", high)
        text %= {"low": low, "high": high}
    else:
        ship = format_short_date(ship_date, locale)
        text = {
            "in_stock": gettext("In stock — ships %(ship)s"),
            "backorder": gettext("Backorder — next batch ships %(ship)s"),
            "preorder": gettext("Pre-order — ships %(ship)s"),
        }.get(status, gettext("In stock — ships %(ship)s")) % {"ship": ship}
    if delivery:
        text += gettext(", delivered by %(delivery)s") % {
            "delivery": format_short_date(delivery_to, locale)}
    return text
