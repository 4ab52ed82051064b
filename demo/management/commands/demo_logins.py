"""Create the demo logins (an admin and one user per role) and print them."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from promises.roles import ROLE_NAMES, roles_setup

#: Demo login -> its role group (None: the superuser); one login per role of the matrix.
DEMO_USERS = {"admin": None, "agent": "CS agent", "buyer": "Buyer", "finance": "Finance", "ops": "Ops"}


class Command(BaseCommand):
    help = "Create demo logins once (password kept in var/demo-login.txt) and print them."

    def handle(self, *args, **options):
        roles_setup()
        path = settings.VAR_DIR / "demo-login.txt"
        path.parent.mkdir(exist_ok=True)
        if path.exists():
            password = path.read_text().split()[-1]
        else:
            password = secrets.token_urlsafe(9)
            path.write_text(f"password {password}\n")
        User = get_user_model()
        for username, role in DEMO_USERS.items():
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"})
            if created or not user.check_password(password):
                user.set_password(password)
            user.is_staff = True
            user.is_superuser = role is None
            user.save()
            if role:
                user.groups.set([Group.objects.get(name=role)])
        assert set(DEMO_USERS.values()) - {None} == set(ROLE_NAMES)
        self.stdout.write(self.style.SUCCESS(
            f"Admin: {settings.SITE_URL}/admin/  user admin (or agent, buyer, finance, ops)  "
            f"password {password}"))
