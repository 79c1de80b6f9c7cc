"""Markdown written by staff, rendered safely: raw HTML is escaped, unsafe links dropped."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

# "js-default" is CommonMark with raw HTML disabled; markdown-it's link validator already
# refuses javascript:, vbscript:, file: and data: (except images) URLs.
_markdown = MarkdownIt("js-default", {"linkify": False, "typographer": False})


def render_markdown(text: str) -> Markup:
    return Markup(_markdown.render(text or ""))  # noqa: S704 - raw HTML is disabled above
