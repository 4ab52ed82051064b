"""Run the benchmarks (docs/design.md "Performance targets") and print a summary table; `make bench` runs them all.

    .venv/bin/python bench/run.py                 # (a) re-promise, (b) ETA change, (c) intake, (d) hot SKU
    .venv/bin/python bench/run.py repromise       # one of them: repromise | eta | intake | intake_hot | admin_po_form | http | api_pull
    .venv/bin/python bench/run.py --small         # quick check: 100k lines, fewer changes, 5 s intake

Each benchmark runs in a process of its own against a database of its own on the server of
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/...), which it drops and recreates:
bd_bench_repromise, bd_bench_eta, bd_bench_intake (+ bd_bench_pgbench), bd_bench_intake_hot. The ETA benchmark
also needs Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379; database 14).
Logs go to bench/out/ (not committed); docs/performance.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    PYTHON,
    RESULT_PREFIX,
    ROOT,
    STATIC_COLLECTED,
    bench_env,
    ms_or_na,
    server_url,
    static_collect,
)

BENCHES = {
    "repromise": "bench/repromise_full.py",
    "eta": "bench/eta_change.py",
    "intake": "bench/intake.py",
    "intake_hot": "bench/intake_hot.py",
    "admin_po_form": "bench/admin_po_form.py",
    "http": "bench/http_load.py",
    "api_pull": "bench/api_pull.py",
}


def bench_run(name: str, extra: list[str]) -> dict | None:
    """Run one benchmark script, echo its output, return its result line."""
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    log_path = out_dir / f"{name}.log"
    env = bench_env(server_url())
    result = None
    with open(log_path, "w") as log:
        proc = subprocess.Popen([PYTHON, BENCHES[name], *extra], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if line.startswith(RESULT_PREFIX):
                result = json.loads(line[len(RESULT_PREFIX):])
                continue
            sys.stdout.write(line)
            sys.stdout.flush()
        proc.wait()
    if proc.returncode:
        print(f"!! {name} failed (exit {proc.returncode}); see {log_path}")
    if result is not None:
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def _row(what, figure, floor, ratio, target, verdict):
    return f"| {what} | {figure} | {floor} | {ratio} | {target} | {verdict} |"


def summary_print(results: dict[str, dict]) -> None:
    print("\n=== Summary ===")
    for name, r in results.items():
        m = r.get("machine", {})
        print(f"{name}: commit {m.get('commit', '?')}, {m.get('nproc')} cores, {m.get('mem_gib')} GiB, "
              f"PostgreSQL {m.get('postgres')}, load average at start {m.get('load_average')}, {m.get('date')}")
    print("| benchmark | figure | floor (same run) | ratio | target | verdict |")
    print("|---|---|---|---|---|---|")
    r = results.get("repromise")
    if r:
        floor = r["floor"]["total"]
        for run in r["runs"]:
            print(_row(f"re-promise {r['open_lines']:,} lines, {run['label']}",
                       f"{run['seconds']:.1f} s ({run['lines_per_s']:,.0f} lines/s)",
                       f"{floor:.1f} s", f"{run['ratio']:.2f}x", "<= 3x",
                       "met" if run["ratio"] <= r["target_ratio"] else "missed"))
    r = results.get("eta")
    if r:
        s, a = r["service"], r["admin"]
        lat = r["latency_hot_all"]
        print(_row(f"ETA change, pool of {r['hot_lines']:,} lines: commit -> promises updated",
                   f"p50 {lat['p50']:.3f} s, p95 {lat['p95']:.3f} s (n={lat['n']})" if lat else "no data",
                   "-", "-", "p95 < 1 s", "met" if r.get("target_promises_met", r["target_met"]) else "missed"))
        exc = r.get("latency_exceptions_all")
        if exc:
            print(_row(f"ETA change, pool of {r['hot_lines']:,} lines: commit -> exceptions raised",
                       f"p50 {exc['p50']:.3f} s, p95 {exc['p95']:.3f} s (n={exc['n']})", "-", "-", "p95 < 1 s",
                       "met" if r["target_exceptions_met"] else "missed"))
        if s["n"]:
            print(_row("ETA change: po_update save (transaction, commit, enqueue)",
                       f"p50 {s['save']['p50'] * 1000:.0f} ms, p95 {s['save']['p95'] * 1000:.0f} ms",
                       "-", "-", "no work in the save", "-"))
        if a["n"]:
            print(_row("ETA change: admin change-form POST (test client)",
                       f"p50 {a['save']['p50'] * 1000:.0f} ms, p95 {a['save']['p95'] * 1000:.0f} ms",
                       "-", "-", "no work in the save", "-"))
    r = results.get("intake")
    if r:
        run, pg = r["run"], r["pgbench"]
        ratio = r.get("ratio_to_pgbench")
        print(_row(f"intake, {run['clients']} processes, {run['window_s']:.0f} s",
                   f"{run['orders_per_s']:.1f} orders/s ({run['created']:,} orders)",
                   f"pgbench {pg.get('tps') or 0:,.0f} TPS", f"{ratio * 100:.2f} %" if ratio else "-",
                   ">= 300/s (4x Saleor ~75/s)", f"{r['vs_saleor_many']:.1f}x Saleor"))
        per_core = r.get("per_core")
        if per_core:
            print(_row(f"intake, {per_core['clients']} processes (one per core), from the data the "
                       f"{run['clients']} found", f"{per_core['orders_per_s']:.1f} orders/s",
                       f"CPU per attempt, clients: {per_core['clients']} processes "
                       f"{ms_or_na(per_core.get('client_cpu_ms_per_attempt'))}, {run['clients']} processes "
                       f"{ms_or_na(run.get('client_cpu_ms_per_attempt'))}", "-", "(reference)", "-"))
        single = r.get("single_process")
        if single:
            print(_row("intake, 1 process", f"{single['orders_per_s']:.1f} orders/s", "-", "-",
                       "3x Saleor (132/s)", f"{single['orders_per_s'] / r['saleor']['one_process']:.1f}x Saleor"))
        c = r["checks"]
        print(_row("intake correctness", f"oversold {c['stock_oversold_pools'] + c['po_oversold_lines']}, "
                   f"cap breaches {c['cap_qty_breaches']}", "-", "-", "0 and 0",
                   "met" if r["correct"] else "FAILED"))


    r = results.get("intake_hot")
    if r:
        top, base = r["rows"][-1], r["rows"][0]
        print(_row(f"hot SKU order at {top['open_lines']:,} open lines vs an empty pool (cold SKU, same time)",
                   f"{top['hot_ms']:.1f} ms (at the start {base['hot_ms']:.1f} ms: {r['ratio_to_start']:.2f}x)",
                   f"{top['cold_ms']:.1f} ms", f"{r['ratio']:.2f}x", f"<= {r['target_ratio']}x",
                   "met" if r["ratio"] <= r["target_ratio"] else "missed"))
        print(_row(f"hot SKU availability at {top['open_lines']:,} open lines vs an empty pool",
                   f"{top['atp_hot_ms']:.1f} ms (at the start {base['atp_hot_ms']:.1f} ms: "
                   f"{r['atp_ratio_to_start']:.2f}x)", f"{top['atp_cold_ms']:.1f} ms", f"{r['atp_ratio']:.2f}x",
                   f"<= {r['target_ratio']}x", "met" if r["atp_ratio"] <= r["target_ratio"] else "missed"))

    for name in ("http", "api_pull"):
        for row in (results.get(name) or {}).get("summary_rows", []):
            print(_row(*row))

    r = results.get("admin_po_form")
    if r:
        print(_row("admin: the 58-line PO change form (server side)",
                   f"median {r['median_ms']:.0f} ms, {r['queries']} queries",
                   f"1-line form {r['floor_median_ms']:.0f} ms", f"{r['median_ms'] / r['floor_median_ms']:.2f}x",
                   f"< {r['target_ms']} ms", "met" if r["median_ms"] < r["target_ms"] else "missed"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", choices=[*BENCHES, []], help="default: all of them")
    parser.add_argument("--small", action="store_true", help="quick check with smaller sizes")
    args = parser.parse_args(argv)
    which = args.which or list(BENCHES)
    extra = ["--small"] if args.small else []
    started = time.perf_counter()
    static_collect(bench_env(server_url()))
    os.environ[STATIC_COLLECTED] = "1"  # the benchmarks' environments inherit it
    results = {}
    for name in which:
        result = bench_run(name, extra)
        if result is not None:
            results[name] = result
    summary_print(results)
    print(f"\n(total {time.perf_counter() - started:.0f} s; logs and JSON in bench/out/)")
    return 0 if len(results) == len(which) else 1


if __name__ == "__main__":
    sys.exit(main())
