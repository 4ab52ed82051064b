"""Production settings pass Django's deployment checks; development needs nothing set."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env):
    drop = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="False",
                    SECRET_KEY="x" * 30 + "-production-secret-" + "y" * 30,
                    ALLOWED_HOSTS="desk.example.com")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="False", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_filemail_with_three_slashes_writes_to_the_absolute_path(tmp_path):
    root = Path(__file__).resolve().parents[2]
    target = tmp_path / "mail"
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
            "from django.conf import settings; print(settings.EMAIL_FILE_PATH)")
    for url, expected in ((f"filemail://{target}", str(target)),
                          ("filemail://var/mail", str(root / "var" / "mail"))):
        env = {**os.environ, "EMAIL_URL": url, "DATABASE_URL": "sqlite:///:memory:"}
        done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.stdout.strip() == expected, done.stderr
