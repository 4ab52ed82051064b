"""manage.py report KIND --start --end [--region] [--channel] --out FILE."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reports.models import ReportKind
from reports.services import (
    ReportInputError,
    report_filter_check,
    report_format_for,
    report_produce,
)


def _day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(f"--{option}: {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Write a finance or ops report (exposure, refunds, performance) as PDF, CSV or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("kind", help=f"one of: {', '.join(ReportKind.values)}")
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="last day (included), YYYY-MM-DD")
        parser.add_argument("--region", default="", help="region code (US, EU, UK); all if absent")
        parser.add_argument("--channel", default="", help="channel code; all if absent")
        parser.add_argument("--out", required=True, help="file to write: .pdf, .csv or .xlsx")

    def handle(self, *args, kind, start, end, region, channel, out, **options):
        start_day, end_day = _day("start", start), _day("end", end)
        try:
            fmt = report_format_for(out)
            f = report_filter_check(kind=kind, start=start_day, end=end_day, region=region,
                                    channel=channel)
        except ReportInputError as error:
            option = "KIND" if error.field == "kind" else f"--{error.field}"
            raise CommandError(f"{option}: {error}") from None
        path = Path(out)
        if not path.parent.exists():
            raise CommandError(f"--out: folder {path.parent} does not exist")
        produced = report_produce(kind=kind, f=f, fmt=fmt)
        path.write_bytes(produced.content)
        self.stdout.write(f"Wrote {path} ({len(produced.content)} bytes).")
