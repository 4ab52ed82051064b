"""Load reference data and a realistic demo book of SKUs, purchase orders and orders."""

import logging
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from demo.data import (
    SIZES,
    demo_book_finish,
    demo_data_create,
    demo_replenish,
    reference_data_create,
)
from inventory.models import SKU
from promises.services import pools_repromise_all, promises_mark_communicated


class Command(BaseCommand):
    help = "Create warehouses and channels, then a demo catalog, POs and order history."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--size", choices=sorted(SIZES), default="default",
                            help="small (tests), default (~3,000 orders), large (100,000 orders).")
        parser.add_argument("--reference-only", action="store_true",
                            help="Stop after warehouses and channels.")
        parser.add_argument("--no-progress", action="store_true", help="Hide progress bars.")

    def handle(self, *args, seed, size, reference_only, no_progress, **options):
        # Seeding enqueues a few re-promise tasks; their log lines would drown the summary.
        logging.getLogger("django-q").setLevel(logging.WARNING)
        warehouses, channels = reference_data_create()
        self.stdout.write(f"Reference data: {len(warehouses)} warehouses, {len(channels)} channels.")
        if reference_only:
            return
        if SKU.objects.exists():
            raise CommandError(
                "The database already holds a catalog; seed_demo fills an empty one. "
                "Start from a fresh database (make reset) or use --reference-only."
            )

        def progress(total, desc):
            return tqdm(total=total, desc=desc, unit=" rows", disable=no_progress or total < 5000,
                        file=self.stderr._out)

        started = time.monotonic()
        counts = demo_data_create(seed=seed, size=size, progress=progress)
        counts["replenishment lines"] = demo_replenish(seed=seed)
        result = pools_repromise_all(cause="manual", note="seed_demo")
        promises_mark_communicated()
        finish = demo_book_finish(seed=seed, lively=size != "large")
        self.stdout.write(self.style.SUCCESS(
            f"Demo data: {counts['skus']} SKUs, {counts['customers']} customers, "
            f"{counts['orders']} orders; {result.lines} open lines promised; "
            f"replenishment lines: {counts['replenishment lines']}, "
            + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in finish.items())
            + f" ({time.monotonic() - started:.1f}s)."
        ))
