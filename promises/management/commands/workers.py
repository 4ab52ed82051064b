"""Run the background workers: the main django-q2 cluster and the notices cluster."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Start the django-q2 clusters this project needs: the main one (re-promising, "
            "schedules) and, when NOTICES_CLUSTER is set, the notices one. Stops both on Ctrl-C.")

    def handle(self, *args, **options):
        manage = [sys.executable, os.path.join(settings.BASE_DIR, "manage.py"), "qcluster"]
        # Each child names its cluster: `qcluster` refuses to guess when there are two.
        main_env = {**os.environ, "Q_CLUSTER_NAME": settings.Q_CLUSTER["name"]}
        clusters = [("main", main_env)]
        if settings.NOTICES_CLUSTER:
            clusters.append(("notices", {**main_env, "Q_CLUSTER_NAME": settings.NOTICES_CLUSTER}))
        children = []
        for label, env in clusters:
            # Sending notices is background work: it yields the CPU to re-promising.
            nice = (lambda: os.nice(10)) if label == "notices" else None
            children.append((label, subprocess.Popen(manage, env=env, preexec_fn=nice)))
            self.stdout.write(f"started the {label} cluster (pid {children[-1][1].pid})")

        def stop(*_args):
            for _label, child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            # If one cluster dies, stop the other: half a worker would silently stop sending
            # notices (or re-promising) while looking alive.
            while all(child.poll() is None for _label, child in children):
                time.sleep(0.5)
        finally:
            stop()
            for _label, child in children:
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [label for label, child in children if child.returncode not in (0, -signal.SIGTERM)]
        if failed:
            self.stderr.write(f"cluster stopped unexpectedly: {', '.join(failed)}")
            sys.exit(1)
