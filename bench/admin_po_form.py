"""Benchmark (f): a buyer's 58-line purchase order change form, rendered server-side.

Data: the small demo book (`seed_demo --size small`) on a database of its own, plus one
confirmed PO of 58 lines in EU-CENTRAL (the largest PO a buyer of the demo brand edits).
Each page is rendered through Django's test client as the superuser, after a warm-up:
the 58-line form, and as the floor the same form for a PO of one line (the page's fixed
cost: the admin's templates, the impact preview's frame, the history link). Median and
fastest of each are printed with the ratio and the queries of one render.

Target (docs/design.md, roles and admin speed): the 58-line form under 200 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/admin_po_form.py [--renders N] [--small]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    banner,
    db_recreate,
    django_setup,
    load_average,
    machine,
    migrate,
    result_emit,
)

TARGET_MS = 200


def _po(number, warehouse, supplier, skus, eta):
    from inventory.models import PurchaseOrder, PurchaseOrderLine

    po = PurchaseOrder.objects.create(number=number, supplier=supplier, warehouse=warehouse,
                                      status=PurchaseOrder.Status.CONFIRMED, eta=eta)
    PurchaseOrderLine.objects.bulk_create(PurchaseOrderLine(purchase_order=po, sku=sku, qty_ordered=20 + i)
                                          for i, sku in enumerate(skus))
    return po


def _renders(client, url, n) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert client.get(url).status_code == 200  # warm-up: templates, calendars
    times, queries = [], 0
    for _ in range(n):
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    return times, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=15)
    parser.add_argument("--small", action="store_true", help="quick check: 5 renders of each")
    args = parser.parse_args()
    if args.small:
        args.renders = 5
    banner("(f) the 58-line purchase order change form")
    url = db_recreate("bd_bench_admin_form")
    print(f"  create + migrate database  {migrate(url):6.2f} s", flush=True)
    django_setup(url)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from inventory.models import SKU, Supplier, Warehouse

    started = time.perf_counter()
    call_command("seed_demo", "--size", "small", "--seed", "7", "--no-progress", stdout=StringIO())
    print(f"  seed the small demo book   {time.perf_counter() - started:6.2f} s", flush=True)
    warehouse = Warehouse.objects.get(code="EU-CENTRAL")
    supplier = Supplier.objects.order_by("pk").first()
    eta = timezone.localdate() + timedelta(days=30)
    skus = list(SKU.objects.order_by("code")[:58])
    big = _po("PO-BENCH-58", warehouse, supplier, skus, eta)
    one = _po("PO-BENCH-1", warehouse, supplier, skus[:1], eta)
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench", "bench@example.com", "pw"))
    load = load_average()
    form_ms, form_queries = _renders(client, reverse("admin:inventory_purchaseorder_change", args=[big.pk]),
                                     args.renders)
    floor_ms, floor_queries = _renders(client, reverse("admin:inventory_purchaseorder_change", args=[one.pk]),
                                       args.renders)
    median, floor = statistics.median(form_ms), statistics.median(floor_ms)
    print(f"\n  58-line form   median {median:6.1f} ms, fastest {min(form_ms):6.1f} ms, {form_queries} queries")
    print(f"  1-line form    median {floor:6.1f} ms, fastest {min(floor_ms):6.1f} ms, {floor_queries} queries"
          "  (floor: the page's fixed cost)")
    verdict = "met" if median < TARGET_MS else "MISSED"
    print(f"  ratio {median / floor:.2f}x the floor; target: median under {TARGET_MS} ms -> {verdict}"
          f"  (load average at start {load[0]:.1f})")
    result_emit({"bench": "admin_po_form", "machine": machine(), "load_average": load,
                 "median_ms": median, "fastest_ms": min(form_ms), "queries": form_queries,
                 "floor_median_ms": floor, "floor_queries": floor_queries, "target_ms": TARGET_MS})


if __name__ == "__main__":
    main()
