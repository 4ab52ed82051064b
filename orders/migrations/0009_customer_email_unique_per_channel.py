"""One customer per e-mail (ignoring case) within a channel."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0008_customers_split_per_channel")]

    operations = [
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                models.F("channel"), django.db.models.functions.text.Lower("email"),
                name="customer_email_unique_per_channel"),
        ),
    ]
