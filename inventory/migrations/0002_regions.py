"""Create the three fixed regions and their legal regimes."""

from django.db import migrations

REGIONS = [
    # code, name, regime, currency, locale, timezone, transit min, max, holiday country
    ("US", "United States", "us_ftc", "USD", "en_US", "America/New_York", 2, 5, "US"),
    ("EU", "European Union", "eu_crd", "EUR", "de_DE", "Europe/Berlin", 2, 4, "DE"),
    ("UK", "United Kingdom", "uk_cra", "GBP", "en_GB", "Europe/London", 1, 3, "GB"),
]


def create_regions(apps, schema_editor):
    Region = apps.get_model("inventory", "Region")
    for code, name, regime, currency, locale, tz, tmin, tmax, country in REGIONS:
        Region.objects.update_or_create(
            code=code,
            defaults=dict(
                name=name, legal_regime=regime, currency=currency, locale=locale, timezone=tz,
                transit_min_days=tmin, transit_max_days=tmax, holiday_country=country,
            ),
        )


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]
    operations = [migrations.RunPython(create_regions, migrations.RunPython.noop)]
