"""manage.py report: a file per extension, and errors that name the option."""

import io

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("ext", ["pdf", "csv", "xlsx"])
def test_report_writes_the_format_of_the_file_extension(book, tmp_path, ext):
    # When
    target = tmp_path / f"exposure.{ext}"
    output = run("exposure", "--start", "2026-06-01", "--end", "2026-06-30", "--region", "US",
                 "--out", str(target))
    # Then
    content = target.read_bytes()
    assert f"Wrote {target}" in output
    magic = {"pdf": b"%PDF", "xlsx": b"PK", "csv": "\ufeffReport".encode()}[ext]
    assert content.startswith(magic)
    if ext == "pdf":
        assert "region US" in PdfReader(io.BytesIO(content)).pages[0].extract_text()


def test_a_region_filter_narrows_the_figures(book, tmp_path):
    target = tmp_path / "r.csv"
    run("exposure", "--start", "2026-06-01", "--end", "2026-06-30", "--region", "EU", "--out", str(target))
    text = target.read_text("utf-8-sig")
    assert "EUR,1,2,22.22,22.22" in text and "USD,3" not in text


@pytest.mark.parametrize(("args", "option"), [
    (["nonsense", "--start", "2026-06-01", "--end", "2026-06-30", "--out", "x.csv"], "KIND"),
    (["refunds", "--start", "2026-06-31", "--end", "2026-06-30", "--out", "x.csv"], "--start"),
    (["refunds", "--start", "2026-06-01", "--end", "June", "--out", "x.csv"], "--end"),
    (["refunds", "--start", "2026-06-10", "--end", "2026-06-01", "--out", "x.csv"], "--end"),
    (["refunds", "--start", "2026-06-01", "--end", "2026-06-30", "--region", "XX", "--out", "x.csv"], "--region"),
    (["refunds", "--start", "2026-06-01", "--end", "2026-06-30", "--channel", "nope", "--out", "x.csv"], "--channel"),
    (["refunds", "--start", "2026-06-01", "--end", "2026-06-30", "--out", "x.docx"], "--out"),
    (["refunds", "--start", "2026-06-01", "--end", "2026-06-30", "--out", "/no/such/dir/x.csv"], "--out"),
])
def test_bad_input_is_a_command_error_naming_the_option(db, args, option):
    with pytest.raises(CommandError) as error:
        run(*args)
    assert str(error.value).startswith(f"{option}:")
