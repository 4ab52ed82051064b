"""Give regions a holiday subdivision, and set the subdivisions of the UK and German sites.

Without one, UK transit used the GB-wide calendar, which lacks England's Easter Monday and
late-August bank holiday, and EU-CENTRAL (Kassel, Hesse) shipped on Corpus Christi.
"""

from django.db import migrations, models

#: Region code -> subdivision; set on install and on upgrade.
REGION_SUBDIVISIONS = {"UK": "ENG"}
#: Warehouse code -> subdivision; set only where none is chosen yet.
WAREHOUSE_SUBDIVISIONS = {"UK-MIDLANDS": "ENG", "EU-CENTRAL": "HE"}


def holiday_subdivisions_set(apps, schema_editor):
    Region = apps.get_model("inventory", "Region")
    Warehouse = apps.get_model("inventory", "Warehouse")
    for code, subdivision in REGION_SUBDIVISIONS.items():
        Region.objects.filter(code=code).update(holiday_subdivision=subdivision)
    for code, subdivision in WAREHOUSE_SUBDIVISIONS.items():
        Warehouse.objects.filter(code=code, holiday_subdivision="").update(
            holiday_subdivision=subdivision
        )


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0002_regions"),
    ]

    operations = [
        migrations.AddField(
            model_name="region",
            name="holiday_subdivision",
            field=models.CharField(
                blank=True,
                help_text="Subdivision whose extra holidays the carrier also skips, e.g. ENG. Blank: country-wide only.",
                max_length=10,
            ),
        ),
        # The reverse leaves the warehouses' values: they were valid before this migration.
        migrations.RunPython(holiday_subdivisions_set, migrations.RunPython.noop),
    ]
