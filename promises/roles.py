"""The role matrix: what each role may see and do in the admin, as one table of data.

`manage.py setup_roles` turns it into one group per role. The admin enforces it through the
permissions the groups hold: each `@admin.action(permissions=...)`, each `has_*_permission`
and the read-only fields of the model admins narrow it further for everyone (no role adds a
region, no role deletes a record). tests/foundation/test_role_matrix.py walks every admin
page and action of every role against this table, so a new model admin or action without a
rule here fails the suite.

Who does what:
- CS agent: works exceptions, notices, consents and cancellations; reads orders and supply;
  never money fields (read-only in the order forms) nor refunds.
- Buyer: edits supply (SKUs, stock, suppliers, purchase orders, receipts, caps); reads the
  book; never acts on customers (no exception, notice or order action).
- Finance: reads the whole book, records refunds on cancellations, downloads the reports.
- Ops: everything, schedules and partner API keys included; user accounts and groups stay
  with the superuser (changing a user may make it a superuser).
Infrastructure (dirty pools, django-q tasks and schedules, login attempts, API keys, users)
shows in no menu but Ops' and the superuser's.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

AGENT, BUYER, FINANCE, OPS = "CS agent", "Buyer", "Finance", "Ops"
ROLE_NAMES = (AGENT, BUYER, FINANCE, OPS)

#: The letters of the matrix: view, add, change, delete.
PERMISSION_LETTERS = {"v": "view", "a": "add", "c": "change", "d": "delete"}

#: model label -> what each role holds on it: (CS agent, Buyer, Finance, Ops), as letters.
#: "" is nothing (the model is not in the role's menu).
MODEL_MATRIX: dict[str, tuple[str, str, str, str]] = {
    # supply                         agent   buyer    finance  ops
    "inventory.region":             ("v",   "v",     "v",     "vacd"),
    "inventory.channel":            ("v",   "v",     "v",     "vacd"),
    "inventory.warehouse":          ("v",   "v",     "v",     "vacd"),
    "inventory.supplier":           ("v",   "vac",   "v",     "vacd"),
    "inventory.sku":                ("v",   "vac",   "v",     "vacd"),
    "inventory.stocklevel":         ("v",   "vac",   "v",     "vacd"),
    "inventory.purchaseorder":      ("v",   "vac",   "v",     "vacd"),
    "inventory.purchaseorderline":  ("v",   "vacd",  "v",     "vacd"),
    "inventory.purchaseorderetachange": ("v", "v",   "v",     "v"),
    "inventory.receipt":            ("v",   "va",    "v",     "vacd"),
    "inventory.backordercap":       ("v",   "vacd",  "v",     "vacd"),
    # demand; "add" of cancellations is what the exception queue's "Cancel and refund" needs
    "orders.customer":              ("vc",  "",      "v",     "vacd"),
    "orders.order":                 ("vc",  "v",     "v",     "vacd"),
    "orders.orderline":             ("vc",  "v",     "v",     "vacd"),
    "orders.shipment":              ("va",  "v",     "v",     "vacd"),
    "orders.cancellation":          ("va",  "",      "vc",    "vacd"),
    # promises and the regional workflow
    "promises.promisechange":       ("v",   "v",     "v",     "vacd"),
    "promises.orderexception":      ("vc",  "v",     "v",     "vacd"),
    "promises.delayconsent":        ("vac", "",      "v",     "vacd"),
    "notifications.notice":         ("vac", "",      "v",     "vacd"),
    "workflow.exceptionevent":      ("v",   "",      "v",     "v"),
    # infrastructure: Ops only
    "promises.dirtypool":           ("",    "",      "",      "vacd"),
    "promises.poolsupply":          ("",    "",      "",      "v"),
    "api.partnerkey":               ("",    "",      "",      "vacd"),
    "django_q.schedule":            ("",    "",      "",      "vacd"),
    "django_q.success":             ("",    "",      "",      "vacd"),
    "django_q.failure":             ("",    "",      "",      "vacd"),
    "django_q.ormq":                ("",    "",      "",      "vacd"),
    "axes.accessattempt":           ("",    "",      "",      "vacd"),
    "axes.accesslog":               ("",    "",      "",      "vacd"),
    "axes.accessfailurelog":        ("",    "",      "",      "vacd"),
    "auth.user":                    ("",    "",      "",      "v"),
    "auth.group":                   ("",    "",      "",      "v"),
}

#: Permissions of their own (app_label.codename) -> the roles that hold them.
EXTRA_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "reports.run_report": (FINANCE, OPS),
}

#: (model label, admin action) -> the roles that may run it. Two actions follow a model
#: permission instead of a rule here: "delete_selected" (delete) and the list export
#: "export_admin_action" (view).
ACTION_MATRIX: dict[tuple[str, str], tuple[str, ...]] = {
    **{("promises.orderexception", action): (AGENT, OPS) for action in (
        "send_notice_now", "record_consent", "cancel_and_refund", "offer_alternative", "split_ship",
        "goodwill_credit", "assign_to_me", "add_note")},
    **{("notifications.notice", action): (AGENT, OPS) for action in (
        "send_now", "retry", "mark_sent", "resend_stuck")},
    ("orders.order", "repromise_now"): (AGENT, OPS),
    ("inventory.purchaseorder", "receive"): (BUYER, OPS),
    ("api.partnerkey", "expire_now"): (OPS,),
    ("api.partnerkey", "revoke"): (OPS,),
    ("django_q.success", "resubmit_task"): (OPS,),
    ("django_q.failure", "resubmit_task"): (OPS,),
    ("axes.accessattempt", "cleanup_expired_attempts"): (OPS,),
}
#: Actions every admin may offer, allowed by the model permission named.
GENERIC_ACTIONS = {"delete_selected": "delete", "export_admin_action": "view"}


def role_permissions(role: str) -> dict[str, set[str]]:
    """Return model label -> the permissions ("view", "add", ...) the role holds on it."""
    column = ROLE_NAMES.index(role)
    return {label: {PERMISSION_LETTERS[letter] for letter in row[column]}
            for label, row in MODEL_MATRIX.items() if row[column]}


def roles_setup() -> dict[str, int]:
    """Create or refresh the role groups from the matrix; return the number of permissions of each."""
    counts = {}
    for role in ROLE_NAMES:
        group, _ = Group.objects.get_or_create(name=role)
        q = Q(pk__in=[])
        for label, perms in role_permissions(role).items():
            app_label, model = label.split(".")
            q |= Q(content_type__app_label=app_label, content_type__model=model,
                   codename__in=[f"{perm}_{model}" for perm in perms])
        for name, roles in EXTRA_PERMISSIONS.items():
            if role in roles:
                app_label, codename = name.split(".")
                q |= Q(content_type__app_label=app_label, codename=codename)
        perms = Permission.objects.filter(q)
        group.permissions.set(perms)
        counts[role] = perms.count()
    return counts
