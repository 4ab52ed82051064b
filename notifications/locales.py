"""Customer locales: which language to write in, and dates and money in its format (babel).

The choice of language (promises.labels.customer_language) writes in the customer's
language when the project has a catalog for it and in the region's English otherwise, so a
Polish customer never reads an English sentence with a Polish date in it.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time
from babel.numbers import format_currency
from django.utils.translation import pgettext

from promises.labels import (  # noqa: F401 (the notifications app's names for them)
    FALLBACK_LOCALE,
    SOURCE_LOCALE,
    UK_ENGLISH,
    CustomerLanguage,
    catalog_locales,
    customer_language,
    locale_for,
    locale_normalize,
    region_english,
)


def date_format(value: date | str | None, locale: str) -> str:
    """Return a date in the locale's long form: "December 12, 2026", "12. Dezember 2026"."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format="long", locale=_safe(locale))


def datetime_format(value: datetime | str | None, locale: str, timezone: str | None) -> str:
    """Return a moment as "6 December 2026 at 14:03 CET" in the locale and the region's zone.

    Call it inside translation.override: the joining words come from the catalogs.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
    locale = _safe(locale)
    return pgettext("date and time of day", "%(date)s at %(time)s %(zone)s") % {
        "date": format_date(local.date(), format="long", locale=locale),
        "time": format_time(local, format="short", locale=locale),
        "zone": local.tzname() or "",
    }


def money_format(amount: Decimal | str | int | None, currency: str, locale: str) -> str:
    """Return an amount with its currency in the locale's form: "$20.00", "20,00 €"."""
    try:
        value = Decimal(str(amount if amount not in (None, "") else "0"))
    except InvalidOperation:
        value = Decimal("0")
    return format_currency(value, currency or "USD", locale=_safe(locale))


def _safe(locale: str | None) -> str:
    return locale_normalize(locale) or FALLBACK_LOCALE
