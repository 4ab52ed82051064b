"""Steps the workflow tests share: slip a PO, read e-mails, answer on the consent page."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core import mail
from django.test import TestCase

from inventory.services import po_update

LINK = re.compile(r"https?://[^/\s]+(/notices/consent/[^/\s]+/)")
ANSWER = re.compile(r'name="answer" value="(?P<token>[^"]+)">\s*<button[^>]*>(?P<label>[^<]+)</button>')
ZONES = {"US": "America/New_York", "EU": "Europe/Berlin", "UK": "Europe/London"}


def slip(backorder, *, days: int):
    """Move the line's PO ETA by `days` through the real service; re-promise on commit."""
    backorder.po.refresh_from_db()
    with TestCase.captureOnCommitCallbacks(execute=True):
        po_update(po=backorder.po, eta=backorder.po.eta + timedelta(days=days))
    backorder.po.refresh_from_db()
    return backorder.refresh()


def noon(day: date, region: str = "US") -> datetime:
    """Return midday of a date in the region's timezone: the `now` of a scheduled run."""
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(ZONES[region]))


def emails_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


def html_of(message) -> str:
    return message.alternatives[0][0]


def consent_paths(message) -> list[str]:
    """Return the consent-page paths in an e-mail's text body, in order (accept, cancel)."""
    return LINK.findall(message.body)


def page_answers(html: str) -> dict[str, str]:
    """Return {button label: answer token} of the consent page's forms."""
    return {m.group("label").strip(): m.group("token") for m in ANSWER.finditer(html)}


def run_job(job, **kwargs):
    """Run a scheduled job as the worker would: its on-commit tasks (sending) run after it."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return job(**kwargs)


def answer(client, path: str, label: str, **kwargs):
    """Click a button of the consent page: POST its answer; run the tasks it enqueued."""
    token = page_answers(client.get(path).content.decode())[label]
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(path, {"answer": token}, **kwargs)
