"""The three formats render the same figures; the PDF is a real, paged document."""

import csv
import io
import re
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from reports.documents import cell_text, report_build
from reports.rendering import chart_svg, report_render
from tests.reports.conftest import JUNE

pytestmark = pytest.mark.django_db

KINDS = ["exposure", "refunds", "performance"]


def csv_sections(content: bytes) -> dict[str, list[list[str]]]:
    """Return the CSV's tables by title: header row first."""
    sections, current = {}, None
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))):
        if row and row[0].startswith("# "):
            current = sections.setdefault(row[0][2:], [])
        elif row and current is not None:
            current.append(row)
    return sections


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("kind", KINDS)
def test_pdf_text_holds_every_figure_of_the_csv(book, kind):
    # Given one report
    report = report_build(kind=kind, f=JUNE)
    # When it is rendered as CSV and as PDF
    sections = csv_sections(report_render(report, "csv"))
    pdf = PdfReader(io.BytesIO(report_render(report, "pdf")))
    text = squeezed(" ".join(page.extract_text() for page in pdf.pages))
    # Then every table and every figure of the CSV is in the PDF's text
    assert [t.title for t in report.tables] == list(sections)
    figures = 0
    for title, rows in sections.items():
        assert squeezed(title) in text
        for row in rows[1:]:
            for cell in row:
                if cell:
                    assert squeezed(cell) in text, (title, cell)
                    figures += 1
    assert figures > 10
    # And pages carry their number in the footer
    assert f"Page1of{len(pdf.pages)}" in text


def test_csv_separates_tables_with_title_rows_and_keeps_money_per_currency(book):
    sections = csv_sections(report_render(report_build(kind="exposure", f=JUNE), "csv"))
    header, *rows = sections["Open backorder book by currency"]
    assert header == ["Currency", "Lines", "Units", "Value", "Cash held"]
    assert rows == [["EUR", "1", "2", "22.22", "22.22"], ["USD", "3", "7", "170.00", "120.00"]]


def test_xlsx_has_one_sheet_per_table_with_numbers_as_numbers(book):
    from zipfile import ZipFile

    report = report_build(kind="refunds", f=JUNE)
    content = report_render(report, "xlsx")
    with ZipFile(io.BytesIO(content)) as z:
        workbook = z.read("xl/workbook.xml").decode()
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        refunds_sheet = z.read(f"xl/worksheets/sheet{len(sheets)}.xml").decode()
    assert len(sheets) == 1 + len(report.tables)
    assert "Refunds by currency" in workbook
    assert "<v>90</v>" in refunds_sheet  # USD due amount, a number cell


def test_charts_are_svg_drawn_by_pygal(book):
    report = report_build(kind="exposure", f=JUNE)
    svg = chart_svg(report.charts[0])
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # No script to fetch: WeasyPrint draws the SVG offline
    assert "pygal" in svg and 'xlink:href="http' not in svg and 'src="http' not in svg


def _first_page_png(pdf_bytes: bytes, tmp_path):
    """Return page 1 as a PIL image: pdftoppm when installed, else pdfium; None without either."""
    from PIL import Image

    if shutil.which("pdftoppm"):
        source = tmp_path / "report.pdf"
        source.write_bytes(pdf_bytes)
        subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile",
                        str(source), str(tmp_path / "page")], check=True)
        return Image.open(tmp_path / "page.png")
    try:
        import pypdfium2
    except ImportError:
        return None
    return pypdfium2.PdfDocument(pdf_bytes)[0].render(scale=0.7).to_pil()


@pytest.mark.parametrize("page", ["cover", "charts"])
def test_pdf_pages_render_to_images_that_are_not_blank(book, tmp_path, page):
    pdf_bytes = report_render(report_build(kind="exposure", f=JUNE), "pdf")
    if page == "charts":
        import pypdfium2

        image = pypdfium2.PdfDocument(pdf_bytes)[1].render(scale=0.7).to_pil()
    else:
        image = _first_page_png(pdf_bytes, tmp_path)
        if image is None:
            pytest.skip("no PDF renderer (pdftoppm or pypdfium2) on this machine")
    grey = image.convert("L")
    dark = sum(grey.histogram()[:200])
    assert dark > 500, f"only {dark} dark pixels: the page looks blank"


def test_cell_text_is_the_same_for_every_kind_of_value():
    from datetime import date
    from decimal import Decimal

    assert [cell_text(v) for v in (None, Decimal("1.50"), 2.0, date(2026, 6, 1), 3)] == [
        "", "1.50", "2.00", "2026-06-01", "3"]
