"""The embedded SQLite default: a transaction that reads, then writes after another writer
committed, waits for its turn instead of failing with "database is locked".

Runs in a subprocess on a file database of its own (the suite's test database may be
PostgreSQL, or SQLite in memory), with the project's settings.
"""

import subprocess
import sys
from pathlib import Path

SCRIPT = r'''
import os, sys, threading
sys.path.insert(0, {root!r})
os.environ["DATABASE_URL"] = "sqlite:///" + {db!r}
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
from django.db import connection, transaction

with connection.cursor() as c:
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INT)")
connection.close()
read, written = threading.Event(), threading.Event()
out = {{}}

def reader_then_writer():  # an order: reads its pools first, inserts later
    try:
        with transaction.atomic():
            with connection.cursor() as c:
                c.execute("SELECT count(*) FROM t")
                c.fetchall()
            read.set()
            written.wait(2)
            with connection.cursor() as c:
                c.execute("INSERT INTO t (v) VALUES (1)")
        out["order"] = "ok"
    except Exception as exc:
        out["order"] = repr(exc)
        read.set()
    finally:
        connection.close()

def worker():  # the django-q2 worker writing meanwhile
    read.wait(5)
    try:
        with transaction.atomic():
            with connection.cursor() as c:
                c.execute("INSERT INTO t (v) VALUES (2)")
        out["worker"] = "ok"
    except Exception as exc:
        out["worker"] = repr(exc)
    finally:
        written.set()
        connection.close()

threads = [threading.Thread(target=reader_then_writer), threading.Thread(target=worker)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sorted(out.items()))
'''


def test_an_order_and_the_worker_writing_at_once_both_commit(tmp_path):
    root = str(Path(__file__).resolve().parents[2])
    script = tmp_path / "writers.py"
    script.write_text(SCRIPT.format(root=root, db=str(tmp_path / "embedded.sqlite3")))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=root)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[('order', 'ok'), ('worker', 'ok')]", run.stdout
