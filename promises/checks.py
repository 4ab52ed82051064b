"""Startup checks: the workflow port names an implementation that has every method."""

from django.conf import settings
from django.core import checks

from promises.ports import WORKFLOW_METHODS


def port_errors(setting: str, methods: tuple[str, ...], check_id: str) -> list[checks.CheckMessage]:
    """Return errors when BACKORDER_DESK[setting] does not import or lacks a method."""
    from django.utils.module_loading import import_string

    path = settings.BACKORDER_DESK.get(setting)
    try:
        implementation = import_string(path)
    except (ImportError, TypeError, ValueError) as exc:
        return [checks.Error(f'BACKORDER_DESK["{setting}"] = {path!r} cannot be imported: {exc}',
                             hint="Name a class by its dotted path.", id=check_id)]
    missing = [name for name in methods if not callable(getattr(implementation, name, None))]
    if missing:
        return [checks.Error(f'BACKORDER_DESK["{setting}"] = {path!r} lacks {", ".join(missing)}',
                             id=check_id)]
    return []


@checks.register()
def workflow_port_check(app_configs, **kwargs):
    return port_errors("WORKFLOW", WORKFLOW_METHODS, "promises.E001")
