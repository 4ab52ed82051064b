"""Re-promise open order lines now: every pool, one SKU's pools, or only the dirty ones."""

import time

from django.core.management.base import BaseCommand, CommandError

from inventory.models import SKU
from promises.models import PromiseChange
from promises.services import dirty_pools_repromise, pools_repromise_all


class Command(BaseCommand):
    help = "Recompute promises: --all (as the nightly run does), --sku CODE, or the dirty pools."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--all", action="store_true", help="Every pool.")
        group.add_argument("--sku", action="append", metavar="CODE", help="This SKU's pools (repeatable).")

    def handle(self, *args, all=False, sku=None, **options):
        started = time.monotonic()
        if sku:
            ids = list(SKU.objects.filter(code__in=sku).values_list("id", flat=True))
            missing = set(sku) - set(SKU.objects.filter(id__in=ids).values_list("code", flat=True))
            if missing:
                raise CommandError(f"Unknown SKU code(s): {', '.join(sorted(missing))}")
            result = pools_repromise_all(cause=PromiseChange.Cause.MANUAL, sku_ids=ids,
                                            note="manage.py repromise --sku")
        elif all:
            result = pools_repromise_all(cause=PromiseChange.Cause.MANUAL, note="manage.py repromise --all")
        else:
            result = dirty_pools_repromise()
        self.stdout.write(
            f"{result.pools} pools, {result.lines} open lines, {len(result.changes)} promises changed "
            f"({result.later} later) in {time.monotonic() - started:.2f}s"
        )
