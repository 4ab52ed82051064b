"""Explain a stored promise in words an agent can repeat to a customer."""

RULES = {
    "win": "served first (win strategy): it may take supply from other orders",
    "gain": "gain strategy: served before plain orders",
    "gain:kept": "gain strategy: kept its promised date, no earlier supply was free",
    "gain:improved": "gain strategy: moved earlier as supply became free",
    "redistribute": "plain priority order: lines holding a promise first, then waiting lines by "
                    "channel priority and order time",
    "fill": "fill strategy: served after plain orders",
    "fill:kept": "fill strategy: keeps its promised date, never moved earlier",
    "lose": "lose strategy: served last, releases its supply first",
    "estimate:lead_time": "not covered by stock or confirmed purchase orders: estimated from the "
                          "SKU's fallback lead time (unconfirmed)",
    "guarantee_broken": "its strategy's guarantee could not be kept: supply fell below what it held; "
                        "it got the best date still possible",
}


def promise_explanation(promise) -> str:
    """Return which sources, rule, strategy and calendar steps produced this promise."""
    line = promise.line
    warehouse = line.warehouse
    sources = []
    for s in promise.sources:
        if s["kind"] == "stock":
            sources.append(f"{s['qty']} from stock in {warehouse.code}")
        else:
            sources.append(f"{s['qty']} from {s['reference']} (ready {s['available_on']}: ETA plus "
                           f"dock-to-stock days)")
    covered = "; ".join(sources) if sources else "nothing allocated yet"
    parts = [
        f"Strategy {promise.strategy}: {RULES.get(promise.rule, promise.rule)}.",
        f"Sources: {covered}.",
    ]
    if promise.confirmed:
        ready = promise.supply_date or "the order day"
        parts.append(
            f"Ships on the first {warehouse.code} business day on or after {ready} (order cut-off "
            f"{warehouse.cutoff_time:%H:%M} {warehouse.timezone}), plus {warehouse.handling_days} "
            f"handling day(s): {promise.ship_date}."
        )
    else:
        parts.append(f"Estimated ship date {promise.ship_date} ({line.sku.lead_time_days}-day lead time).")
    parts.append(f"Delivery window {promise.delivery_from} – {promise.delivery_to} "
                 f"(region transit in business days).")
    return " ".join(parts)
