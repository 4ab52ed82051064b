"""Steps the browser journeys share: one user per role, logging in, a screenshot of a step."""

import os
from io import StringIO
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

PASSWORD = "pw"
#: username -> the role group `manage.py setup_roles` makes of the role matrix
ROLE_USERS = {"agent": "CS agent", "buyer": "Buyer", "finance": "Finance", "ops": "Ops"}


def role_users() -> dict:
    """Create the role groups and one staff user per role; return them by username."""
    call_command("setup_roles", stdout=StringIO())
    users = {}
    for username, role in ROLE_USERS.items():
        user = get_user_model().objects.create_user(
            username, f"{username}@example.com", PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    return users


def log_in(page, live_server, username: str) -> None:
    """Log in on the admin's login page, as a person would."""
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("#user-tools")


def step_screenshot(page, name: str) -> None:
    """Save a full-page PNG of a step that went right, when E2E_STEP_SCREENSHOTS names a folder."""
    folder = os.environ.get("E2E_STEP_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

