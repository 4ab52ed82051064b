"""Intake's ledger of free supply per pool and source (promises.ledger)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0003_region_holiday_subdivision'),
        ('promises', '0009_exception_notice_due_by_records_protected'),
    ]

    operations = [
        migrations.CreateModel(
            name='PoolSupply',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('free', models.IntegerField(help_text='Units no open line holds.')),
                ('held_win', models.PositiveIntegerField(default=0)),
                ('held_gain', models.PositiveIntegerField(default=0)),
                ('held_redistribute', models.PositiveIntegerField(default=0)),
                ('held_fill', models.PositiveIntegerField(default=0)),
                ('held_lose', models.PositiveIntegerField(default=0)),
                ('held_waiting', models.PositiveIntegerField(default=0, help_text='Units held by lines without a confirmed promise (part of an estimate).')),
                ('waiting_rank', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('waiting_priority', models.IntegerField(blank=True, null=True)),
                ('waiting_placed_at', models.DateTimeField(blank=True, null=True)),
                ('mark_id', models.BigIntegerField(blank=True, null=True)),
                ('mark_generation', models.PositiveIntegerField(blank=True, null=True)),
                ('po_line', models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text="Blank: the pool's stock.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='inventory.purchaseorderline')),
                ('sku', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='inventory.sku')),
                ('warehouse', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='inventory.warehouse')),
            ],
            options={
                'verbose_name': 'pool supply',
                'verbose_name_plural': 'pool supply',
                'constraints': [models.UniqueConstraint(fields=('sku', 'warehouse', 'po_line'), name='pool_supply_one_per_source'), models.UniqueConstraint(condition=models.Q(('po_line__isnull', True)), fields=('sku', 'warehouse'), name='pool_supply_one_stock_row'), models.CheckConstraint(condition=models.Q(('free__gte', 0)), name='pool_supply_free_not_negative')],
            },
        ),
    ]
