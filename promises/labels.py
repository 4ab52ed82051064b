"""Customer-facing promise labels, localised per language and region.

US labels speak of ship dates (16 CFR 435 measures shipment); EU and UK labels add the
date by which delivery is undertaken (Directive 2011/83/EU art. 6(1)(g), CRA 2015 s.28).
"""

from datetime import date

from babel.dates import format_date

# Per language: status -> template. {ship} and {delivery} are dates in the locale's style.
TEMPLATES = {
    "en": {
        "in_stock": "In stock — ships {ship}",
        "backorder": "Backorder — next batch ships {ship}",
        "preorder": "Pre-order — ships {ship}",
        "estimate": "Ships in {low}–{high} business days",
        "preorder_estimate": "Pre-order — ships in {low}–{high} business days",
        "unavailable": "Currently unavailable",
        "delivery": ", delivered by {delivery}",
    },
    "de": {
        "in_stock": "Auf Lager – Versand am {ship}",
        "backorder": "Nachbestellt – nächste Lieferung versandbereit am {ship}",
        "preorder": "Vorbestellung – Versand am {ship}",
        "estimate": "Versand in {low}–{high} Werktagen",
        "preorder_estimate": "Vorbestellung – Versand in {low}–{high} Werktagen",
        "unavailable": "Derzeit nicht verfügbar",
        "delivery": ", Lieferung bis {delivery}",
    },
    "fr": {
        "in_stock": "En stock – expédié le {ship}",
        "backorder": "En réapprovisionnement – prochain lot expédié le {ship}",
        "preorder": "Précommande – expédié le {ship}",
        "estimate": "Expédié sous {low} à {high} jours ouvrés",
        "preorder_estimate": "Précommande – expédié sous {low} à {high} jours ouvrés",
        "unavailable": "Actuellement indisponible",
        "delivery": ", livré d’ici le {delivery}",
    },
}
DATE_PATTERNS = {"en_US": "MMM d", "en_GB": "d MMM", "de": "d. MMM", "fr": "d MMM"}


def _language(locale: str) -> str:
    language = (locale or "en").replace("-", "_").split("_")[0].lower()
    return language if language in TEMPLATES else "en"


def format_short_date(value: date, locale: str) -> str:
    """Return "Dec 12" (en_US), "12 Dec" (en_GB), "12. Dez." (de), "12 déc." (fr)."""
    locale = (locale or "en_US").replace("-", "_")
    pattern = DATE_PATTERNS.get(locale) or DATE_PATTERNS.get(_language(locale)) or "d MMM"
    return format_date(value, pattern, locale=locale)


def promise_label(*, status: str, ship_date: date | None, delivery_to: date | None,
                  confirmed: bool, region_code: str, locale: str,
                  business_days: tuple[int, int] | None = None) -> str:
    """Return the label shown beside a product or an order line.

    status is in_stock, backorder, preorder or unavailable; an unconfirmed promise shows a
    range of business days rather than a date it cannot stand behind.
    """
    texts = TEMPLATES[_language(locale)]
    if status == "unavailable" or ship_date is None:
        return texts["unavailable"]
    if not confirmed and business_days is not None:
        key = "preorder_estimate" if status == "preorder" else "estimate"
        return texts[key].format(low=business_days[0], high=business_days[1])
    text = texts[status].format(ship=format_short_date(ship_date, locale))
    if region_code in ("EU", "UK") and delivery_to is not None:
        text += texts["delivery"].format(delivery=format_short_date(delivery_to, locale))
    return text
