"""Where report files are kept: a private folder, served only through the reports page."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class ReportStorage(FileSystemStorage):
    """Files under settings.REPORTS_ROOT (default var/reports), read when used, not at import."""

    @property
    def base_location(self):
        return str(getattr(settings, "REPORTS_ROOT", None) or settings.VAR_DIR / "reports")

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


_storage = ReportStorage()


def report_storage() -> ReportStorage:
    return _storage
