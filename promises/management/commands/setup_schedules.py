"""Put the recurring jobs (nightly re-promise, sweeps) on django-q2's schedule."""

from django.core.management.base import BaseCommand

from promises.schedules import schedules_setup


class Command(BaseCommand):
    help = "Create or update the recurring jobs on django-q2's schedule."

    def handle(self, *args, **options):
        for name in schedules_setup():
            self.stdout.write(f"scheduled: {name}")
