"""Groups and permissions per role: CS agent, Buyer, Finance, Ops."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

# (app_label, model) -> actions, per role. Models of apps that do not exist yet are skipped.
ROLES = {
    "CS agent": {
        "view": "*",
        # No change of cancellations: recording a refund is Finance's; agents cancel through
        # the exception queue, which needs "add cancellation".
        "change": [("orders", "order"), ("orders", "orderline"), ("orders", "customer"),
                   ("promises", "orderexception"), ("notifications", "notice")],
        "add": [("orders", "cancellation"), ("orders", "shipment"), ("notifications", "notice")],
    },
    "Buyer": {
        "view": "*",
        "add": [("inventory", m) for m in ("purchaseorder", "purchaseorderline", "receipt",
                                           "supplier", "sku", "stocklevel", "backordercap")],
        "change": [("inventory", m) for m in ("purchaseorder", "purchaseorderline", "supplier",
                                              "sku", "stocklevel", "backordercap")],
        "delete": [("inventory", "purchaseorderline"), ("inventory", "backordercap")],
    },
    "Finance": {
        "view": "*",
        "change": [("orders", "cancellation")],
        "run": [("reports", "report")],
    },
    "Ops": {
        "view": "*",
        "add": "*", "change": "*", "delete": "*",
        "run": [("reports", "report")],
    },
}
APP_LABELS = ("inventory", "orders", "promises", "notifications", "reports")


def roles_setup() -> dict[str, int]:
    """Create or refresh the role groups; return the number of permissions of each."""
    counts = {}
    for name, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        q = Q(pk__in=[])
        for action, models in grants.items():
            if models == "*":
                q |= Q(content_type__app_label__in=APP_LABELS, codename__startswith=f"{action}_")
            else:
                for app_label, model in models:
                    q |= Q(content_type__app_label=app_label, codename=f"{action}_{model}")
        perms = Permission.objects.filter(q)
        group.permissions.set(perms)
        counts[name] = perms.count()
    return counts
