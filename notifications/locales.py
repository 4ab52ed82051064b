"""Customer locales: which one to write in, and dates and money in its format (babel)."""

from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency

FALLBACK_LOCALE = "en"


@lru_cache(maxsize=256)
def locale_normalize(value: str | None) -> str | None:
    """Return a babel locale id ("de_DE") for "de-DE", "de_de" or "de"; None when unknown."""
    if not value:
        return None
    try:
        return str(Locale.parse(value.strip().replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        return None


def locale_for(customer_locale: str | None, region_locale: str | None) -> str:
    """Return the customer's locale, else the region's default, else English."""
    return locale_normalize(customer_locale) or locale_normalize(region_locale) or FALLBACK_LOCALE


def locale_chain(locale: str, region_locale: str | None) -> list[str]:
    """Return the template locales to try, best first: locale, language, region default, en."""
    chain = [locale, locale.split("_")[0]]
    region_default = locale_normalize(region_locale)
    if region_default:
        chain += [region_default, region_default.split("_")[0]]
    chain.append(FALLBACK_LOCALE)
    return list(dict.fromkeys(chain))


def date_format(value: date | str | None, locale: str) -> str:
    """Return a date in the locale's long form: "December 12, 2026", "12. Dezember 2026"."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return format_date(value, format="long", locale=locale)


def money_format(amount: Decimal | str | int, currency: str, locale: str) -> str:
    """Return an amount with its currency in the locale's form: "$20.00", "20,00 €"."""
    return format_currency(Decimal(str(amount)), currency, locale=locale)
