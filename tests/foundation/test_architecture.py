"""The apps import only the apps below them (docs/architecture.md); the ports are wired."""

import ast
from pathlib import Path

import pytest
from django.core import checks
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
#: Lowest first: each app may import those before it, never those after it.
LAYERS = ["core", "inventory", "orders", "promises", "workflow", "notifications", "reports", "api",
          "demo", "config"]


def imports_of(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def test_every_app_imports_only_the_apps_below_it():
    rank = {app: i for i, app in enumerate(LAYERS)}
    upward = []
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for line, module in imports_of(path):
                top = module.split(".")[0]
                if rank.get(top, -1) > rank[app]:
                    upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert upward == []


@pytest.mark.parametrize(("setting", "check_id"), [("WORKFLOW", "promises.E001"),
                                                   ("NOTICE_OUTBOX", "workflow.E001")])
def test_a_port_that_names_nothing_usable_stops_the_project_at_startup(settings, setting, check_id):
    assert not [m for m in checks.run_checks() if m.id == check_id]
    for broken in ("nowhere.Nothing", "notifications.outbox.NoSuchClass", "orders.models.Order"):
        with override_settings(BACKORDER_DESK={**settings.BACKORDER_DESK, setting: broken}):
            errors = [m for m in checks.run_checks() if m.id == check_id]
        assert errors and setting in errors[0].msg
