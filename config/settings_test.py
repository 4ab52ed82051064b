"""Test settings: django-q2 tasks run inline, fast password hashing, in-memory e-mail."""

import os
from urllib.parse import urlsplit, urlunsplit

# Redis databases of the tests, by use: REDIS_URL's (caches, flags, the broker), the
# clusters a test starts, the API throttle's counts. Each pytest-xdist worker (gw0 to gw3,
# make test's --maxprocesses) has its own three, so that two workers never clear or read
# each other's keys; 13 and 14 are the benchmarks'.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
if _WORKER > 3:
    raise RuntimeError("The tests have Redis databases for 4 workers: run pytest -n 4 at most.")
TEST_REDIS_DBS = {"main": _WORKER, "clusters": 4 + _WORKER, "throttle": 8 + _WORKER}


def redis_db_url(use: str, base: str = "redis://127.0.0.1:6379/0") -> str:
    """`base` (a Redis URL) pointed at this worker's database for `use`."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{TEST_REDIS_DBS[use]}"))


if os.environ.get("REDIS_URL"):  # before config.settings reads it; subprocesses inherit it
    os.environ["REDIS_URL"] = redis_db_url("main", os.environ["REDIS_URL"])


from config.settings import *  # noqa: E402, F403 - after REDIS_URL is set above
from config.settings import Q_CLUSTER  # noqa: E402

Q_CLUSTER = {**Q_CLUSTER, "sync": True}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests read availability right after changing supply; tests/api/test_availability_cache.py
# turns the cache on where it is tested.
AVAILABILITY_CACHE_SECONDS = 0
