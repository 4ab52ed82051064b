"""Render a `Report` as CSV, XLSX or PDF (WeasyPrint, charts as pygal SVG)."""

from __future__ import annotations

import base64
import csv
import io
from datetime import date
from decimal import Decimal

from django.template.loader import render_to_string

from reports.documents import Chart, Report, cell_text
from reports.models import ReportFormat

CONTENT_TYPES = {
    ReportFormat.PDF: "application/pdf",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def report_render(report: Report, fmt: str) -> bytes:
    """Return the report as the bytes of a file of format `fmt` (pdf, csv, xlsx)."""
    renderers = {ReportFormat.CSV: render_csv, ReportFormat.XLSX: render_xlsx,
                 ReportFormat.PDF: render_pdf}
    return renderers[ReportFormat(fmt)](report)


def _cover_rows(report: Report) -> list[list[str]]:
    f = report.filters
    return [
        ["Report", report.title],
        ["From", f.start.isoformat()],
        ["To", f.end.isoformat()],
        ["As of", report.as_of.isoformat()],
        ["Region", f.region or "all"],
        ["Channel", f.channel or "all"],
        ["Generated", report.generated_at.strftime("%Y-%m-%d %H:%M UTC")],
    ]


def render_csv(report: Report) -> bytes:
    """One file: the cover rows, then each table after a title row and a blank line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(_cover_rows(report))
    for table in report.tables:
        writer.writerow([])
        writer.writerow([f"# {table.title}"])
        writer.writerow(table.columns)
        writer.writerows([cell_text(v) for v in row] for row in table.rows)
    # A byte-order mark so that Excel opens the file as UTF-8 (en dashes in bucket labels).
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(title: str, used: set[str]) -> str:
    base = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31]
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def render_xlsx(report: Report) -> bytes:
    """A cover sheet, then one sheet per table; numbers stay numbers, money has two decimals."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "remove_timezone": True})
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "0.00"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    used: set[str] = set()
    cover = book.add_worksheet(_sheet_name("Report", used))
    for r, (label, value) in enumerate(_cover_rows(report)):
        cover.write_string(r, 0, label, bold)
        cover.write_string(r, 1, value)
    cover.set_column(0, 1, 24)
    for table in report.tables:
        sheet = book.add_worksheet(_sheet_name(table.title, used))
        for c, name in enumerate(table.columns):
            sheet.write_string(0, c, name, bold)
        for r, row in enumerate(table.rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, Decimal):
                    sheet.write_number(r, c, float(value), money)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, value, day)
                else:
                    sheet.write_string(r, c, str(value))
        if table.note:
            sheet.write_string(len(table.rows) + 2, 0, table.note)
        sheet.set_column(0, max(len(table.columns) - 1, 0), 16)
        sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def chart_svg(chart: Chart) -> str:
    """Draw a chart as SVG with pygal (no scripts: the PDF is static)."""
    import pygal
    from pygal.style import CleanStyle

    config = {"style": CleanStyle, "js": [], "disable_xml_declaration": False, "width": 720,
              "height": 320, "explicit_size": True, "show_legend": chart.kind == "pie",
              "print_values": True, "title": chart.title, "legend_at_bottom": True}
    if chart.kind == "pie":
        drawing = pygal.Pie(**config)
        for label, values in chart.series.items():
            drawing.add(label, values)
    else:
        drawing = pygal.Bar(**config)
        drawing.x_labels = chart.labels
        for label, values in chart.series.items():
            drawing.add(label, values)
    return drawing.render(is_unicode=True)


def render_pdf(report: Report) -> bytes:
    """Render templates/reports/report.html with WeasyPrint."""
    from weasyprint import HTML

    charts = [
        {"title": c.title,
         "src": "data:image/svg+xml;base64," + base64.b64encode(chart_svg(c).encode()).decode()}
        for c in report.charts
    ]
    tables = [{"title": t.title, "columns": t.columns, "note": t.note,
               "rows": [[cell_text(v) for v in row] for row in t.rows]} for t in report.tables]
    html = render_to_string("reports/report.html", {
        "report": report, "cover": _cover_rows(report), "tables": tables, "charts": charts,
    })
    return HTML(string=html, base_url=None).write_pdf()
