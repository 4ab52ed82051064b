"""Render a notice from one template per kind (and region) into subject, text and HTML.

The templates are written in American English and translated through the gettext catalogs
under locale/ ({% translate %}, {% blocktranslate %}); a notice is rendered inside
translation.override of the customer's language (notifications.locales.customer_language).

A notice template is plain text with a little markup, so the text and HTML e-mails are made
from the same words and can never say different things (the legal wording lives once):

    Subject: the first line
    paragraphs separated by blank lines; **bold** for what must be conspicuous
    - bullet lines
    [A link](https://...) inline, or alone on its lines: buttons
    ~ small print (citations)

Values from the context are escaped (`\\*`, `\\[`...) before rendering, so a customer's name
can never turn into markup; `Trusted` values (the URLs we build) are left alone.
"""

import re
from dataclasses import dataclass

from django.template import Context
from django.template.loader import render_to_string, select_template
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe

from notifications.locales import customer_language

_SPECIAL = re.compile(r"([\\*\[\]~\-])")
_INLINE = re.compile(
    r"\\(.)"  # an escaped character
    r"|\*\*((?:\\.|[^*\\])+?)\*\*"  # **bold**
    r"|\[((?:\\.|[^\]\\])+)\]\(([^)\s]+)\)"  # [label](url)
)
_BUTTON = re.compile(r"^\[((?:\\.|[^\]\\])+)\]\(([^)\s]+)\)$")


#: Renewed delay notices use the delay notice template, which speaks of both.
FALLBACK_KINDS = {"renewed_delay_notice": ("delay_notice",)}


class Trusted(str):
    """A context value put into the markup as it is (a URL the application built)."""


def escape_value(value):
    """Escape markup characters in a context value (recursively through lists and dicts)."""
    if isinstance(value, Trusted) or isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return _SPECIAL.sub(r"\\\1", value.replace("\r", " ").replace("\n", " "))
    if isinstance(value, dict):
        return {k: escape_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_value(v) for v in value]
    return value


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    template: str


def template_names(kind: str, region: str) -> list[str]:
    """Return the templates to try, best first: kind/REGION.txt, then kind.txt."""
    names = []
    for k in (kind, *FALLBACK_KINDS.get(kind, ())):
        names += [f"notifications/email/{k}/{region}.txt", f"notifications/email/{k}.txt"]
    return names


def notice_render(*, kind: str, region: str, locale: str | None, region_locale: str | None,
                  context: dict) -> Rendered:
    """Render a notice's subject, plain-text body and HTML body in the customer's language."""
    speech = customer_language(locale, region_locale)
    template = select_template(template_names(kind, region))
    with translation.override(speech.language):
        source = template.template.render(Context(escape_value(context), autoescape=False))
        subject, blocks = _parse(source)
        text = "\n\n".join(_block_text(b) for b in blocks) + "\n"
        body_html = mark_safe("\n".join(_block_html(b) for b in blocks))
        html = render_to_string("notifications/email/layout.html", {
            "subject": _inline_text(subject), "body": body_html, "lang": speech.html_lang,
        })
    return Rendered(_inline_text(subject), text, html, template.template.name)


def _parse(source: str) -> tuple[str, list[tuple[str, list[str]]]]:
    lines = [line.rstrip() for line in source.strip().splitlines()]
    subject = ""
    if lines and lines[0].startswith("Subject:"):
        subject = lines.pop(0)[len("Subject:"):].strip()
    blocks, current = [], []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(_classify(current))
            current = []
    return subject, blocks


def _classify(lines: list[str]) -> tuple[str, list[str]]:
    if all(line.startswith("- ") for line in lines):
        return "list", [line[2:] for line in lines]
    if all(_BUTTON.match(line) for line in lines):
        return "buttons", lines
    if lines[0].startswith("~ "):
        return "small", [lines[0][2:], *lines[1:]]
    return "p", lines


def _inline(value: str, *, html: bool) -> str:
    out, pos = [], 0
    for m in _INLINE.finditer(value):
        literal = value[pos:m.start()]
        out.append(escape(literal) if html else literal)
        pos = m.end()
        if m.group(1) is not None:
            out.append(escape(m.group(1)) if html else m.group(1))
        elif m.group(2) is not None:
            inner = _inline(m.group(2), html=html)
            out.append(f"<strong>{inner}</strong>" if html else inner)
        else:
            label, url = _inline(m.group(3), html=html), m.group(4)
            out.append(f'<a href="{escape(url)}">{label}</a>' if html else f"{label} <{url}>")
    tail = value[pos:]
    out.append(escape(tail) if html else tail)
    return "".join(out)


def _inline_text(value: str) -> str:
    return _inline(value, html=False)


def _block_text(block) -> str:
    kind, lines = block
    if kind == "list":
        return "\n".join(f"- {_inline_text(line)}" for line in lines)
    if kind == "buttons":
        return "\n".join(
            f"{_inline_text(m.group(1))}: {m.group(2)}" for m in map(_BUTTON.match, lines))
    return "\n".join(_inline_text(line) for line in lines)


BUTTON_STYLE = ("display:inline-block;margin:4px 8px 4px 0;padding:10px 16px;border-radius:4px;"
                "background:#1f4e79;color:#ffffff;text-decoration:none;font-weight:bold")


def _block_html(block) -> str:
    kind, lines = block
    if kind == "list":
        items = "".join(f"<li>{_inline(line, html=True)}</li>" for line in lines)
        return f'<ul style="padding-left:20px">{items}</ul>'
    if kind == "buttons":
        links = "".join(
            f'<a href="{escape(m.group(2))}" style="{BUTTON_STYLE}">{_inline(m.group(1), html=True)}</a>'
            for m in map(_BUTTON.match, lines))
        return f'<p style="margin:16px 0">{links}</p>'
    body = "<br>".join(_inline(line, html=True) for line in lines)
    if kind == "small":
        return f'<p style="font-size:12px;color:#555555">{body}</p>'
    return f"<p>{body}</p>"
