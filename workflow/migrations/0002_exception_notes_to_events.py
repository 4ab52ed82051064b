"""Turn the notes agents' actions appended to each exception into ExceptionEvent rows.

Each appended line read "[YYYY-MM-DD HH:MM username] what was done[: the agent's note]"
(the stamp in the project's timezone). Lines that do not read so continue the note of the
line before; notes with no readable line become one "Earlier notes" row at the exception's
last change. The notes field is emptied once its lines are rows.
"""

import re
from datetime import datetime

from django.conf import settings
from django.db import migrations
from django.utils import timezone

STAMPED = re.compile(r"^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) ([^\]]*)\] (.*)$")
#: How each action worded its line, and the event it becomes.
PREFIXES = (
    ("Delay notice sent on request", "notice_sent"),
    ("Offered alternative SKU", "alternative_offered"),
    ("Cancelled for a refund", "cancelled"),
    ("Split-ship requested", "split_ship"),
    ("Consent recorded", "consent_recorded"),
    ("Goodwill credit", "goodwill_credit"),
    ("Assigned to me", "assigned"),
)


def line_read(text: str) -> tuple[str, str, str]:
    """Return (action, what was done, the agent's note) of one appended line's text."""
    for prefix, action in PREFIXES:
        if text.startswith(prefix):
            # A split shipment's text holds a colon of its own, up to "(n on hand)".
            anchor = len(prefix)
            if action == "split_ship" and "on hand)" in text:
                anchor = text.index("on hand)") + len("on hand)")
            head, _sep, note = text[anchor:].partition(": ")
            return action, (text[:anchor] + head)[:300], note
    return "note", text[:300], ""


def notes_to_events(apps, schema_editor):
    OrderException = apps.get_model("promises", "OrderException")
    ExceptionEvent = apps.get_model("workflow", "ExceptionEvent")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    users = dict(User.objects.values_list("username", "pk"))
    tz = timezone.get_default_timezone()
    events, emptied = [], []
    rows = OrderException.objects.exclude(notes="").values_list("pk", "order_id", "notes", "updated_at")
    for pk, order_id, notes, updated_at in rows.iterator(chunk_size=2000):
        mine, loose = [], []
        for raw in notes.splitlines():
            match = STAMPED.match(raw.strip())
            if match is None:
                if mine:
                    mine[-1].note = (mine[-1].note + "\n" + raw).strip()
                elif raw.strip():
                    loose.append(raw)
                continue
            stamp, who, text = match.groups()
            action, head, note = line_read(text)
            at = timezone.make_aware(datetime.strptime(stamp, "%Y-%m-%d %H:%M"), tz)
            mine.append(ExceptionEvent(exception_id=pk, order_id=order_id, at=at, user_id=users.get(who),
                                       action=action, text=head, note=note))
        if loose:
            mine.insert(0, ExceptionEvent(exception_id=pk, order_id=order_id, at=updated_at, action="legacy",
                                          text="Notes written before actions were recorded as rows",
                                          note="\n".join(loose)))
        events += mine
        emptied.append(pk)
        if len(events) >= 2000:
            ExceptionEvent.objects.bulk_create(events)
            events = []
    ExceptionEvent.objects.bulk_create(events)
    for start in range(0, len(emptied), 2000):
        OrderException.objects.filter(pk__in=emptied[start:start + 2000]).update(notes="")


def events_to_notes(apps, schema_editor):
    OrderException = apps.get_model("promises", "OrderException")
    ExceptionEvent = apps.get_model("workflow", "ExceptionEvent")
    tz = timezone.get_default_timezone()
    notes: dict[int, list[str]] = {}
    for event in ExceptionEvent.objects.select_related("user").order_by("exception_id", "at", "id"):
        who = event.user.username if event.user_id else "system"
        text = event.text + (f": {event.note}" if event.note else "")
        notes.setdefault(event.exception_id, []).append(
            f"[{timezone.localtime(event.at, tz):%Y-%m-%d %H:%M} {who}] {text}")
    for pk, lines in notes.items():
        OrderException.objects.filter(pk=pk).update(notes="\n".join(lines))


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial")]
    operations = [migrations.RunPython(notes_to_events, events_to_notes)]
