"""Create or refresh the role groups: CS agent, Buyer, Finance, Ops."""

from django.core.management.base import BaseCommand

from promises.roles import roles_setup


class Command(BaseCommand):
    help = "Create or refresh the groups and permissions of each role."

    def handle(self, *args, **options):
        for name, count in roles_setup().items():
            self.stdout.write(f"{name}: {count} permissions")
