"""`manage.py qcluster`: django-q2's command, made safe for a project that runs two clusters.

django-q2's own command starts the cluster named by Q_CLUSTER_NAME, else the main one. Here
the notices cluster (settings.NOTICES_CLUSTER) sends every customer notice: a `qcluster`
started alone, as django-q2's documentation says, would serve only the main queue and leave
notices unsent with nothing to tell anyone. So, with two clusters, this command refuses to
start without Q_CLUSTER_NAME and says what to run. With NOTICES_CLUSTER empty everything is
on the main cluster and `qcluster` alone serves it all.

While its cluster runs, the command puts a heartbeat on the cluster's own queue every
core.health.HEARTBEAT_SECONDS (see core/health.py): the health check's "last seen".

The `core` app is listed before `django_q` in INSTALLED_APPS so this command replaces
django-q2's (Django takes a command from the first app that has it).
"""

import os

from django.core.management.base import CommandError
from django.db import close_old_connections
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.management.commands.qcluster import Command as DjangoQCommand

from core.health import HEARTBEAT_SECONDS, cluster_names, heartbeat_enqueue


def refusal(clusters: list[str]) -> str:
    main, notices = clusters[0], clusters[1]
    return (
        f"This project runs two django-q2 clusters: {main!r} (re-promising, slip assessment) and "
        f"{notices!r} (customer notices, workflow sweeps). `manage.py qcluster` alone would serve "
        f"only {main!r} and leave customer notices unsent.\n"
        f"Run `manage.py workers` (starts both), or one service per cluster:\n"
        f"  Q_CLUSTER_NAME={main} manage.py qcluster\n"
        f"  Q_CLUSTER_NAME={notices} manage.py qcluster\n"
        f"(With NOTICES_CLUSTER= empty, everything runs on one cluster and `qcluster` alone serves it.)"
    )


class Command(DjangoQCommand):
    help = ("Start one django-q2 cluster, named by Q_CLUSTER_NAME (required when NOTICES_CLUSTER "
            "is set; `manage.py workers` starts every cluster).")

    def handle(self, *args, **options):
        clusters = cluster_names()
        given = os.environ.get("Q_CLUSTER_NAME") or ""
        if options.get("cluster_name") and options["cluster_name"] != Conf.CLUSTER_NAME:
            # django-q2 reads the name when it is imported, before this option is seen.
            raise CommandError(f"Set the cluster with Q_CLUSTER_NAME={options['cluster_name']} "
                               "in the environment, not --name.")
        if len(clusters) > 1 and not given and not options.get("cluster_name"):
            raise CommandError(refusal(clusters))
        if Conf.CLUSTER_NAME not in clusters:
            raise CommandError(f"Unknown cluster {Conf.CLUSTER_NAME!r}: this project runs "
                               f"{', '.join(clusters)}.")
        cluster = Cluster()
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
            return
        # SIGTERM/SIGINT stop the cluster (django-q2's handler); the loop ends with it.
        while cluster.sentinel is not None and cluster.sentinel.is_alive():
            # This process serves no requests: drop a connection the database closed (a
            # restart) here, as Django does between requests.
            close_old_connections()
            heartbeat_enqueue(Conf.CLUSTER_NAME)
            cluster.sentinel.join(HEARTBEAT_SECONDS)
