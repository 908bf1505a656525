"""Text from runs and files made literal in fwa's Markdown (``index.md``, ``claims.md``; docs/cli.md, "report").

A run id, config value, study path or error message is written into a table cell or a paragraph with
every character that Markdown or HTML would read as syntax escaped, so that no value can end a table
cell, start a link, emphasis or code span, or open an HTML tag, and with its control characters written
as visible escapes (``\\n``), so that no value can start a line of its own. Text that fwa writes itself
(captions, claim texts) is Markdown as written and does not go through here.
"""

from __future__ import annotations

import re

from .console import printable

__all__ = ["md_text"]

_SYNTAX = re.compile(r"[\\`*_\[\]|]")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_HTML_CHARS = re.compile("[&<>]")


def md_text(value) -> str:
    """``value`` (as ``str``) as literal Markdown text for a table cell or a paragraph: ``\\ ` * _ [ ] |``
    backslash-escaped, ``& < >`` as HTML entities, control characters as visible escapes (one line).

    >>> md_text("a|b<script>x")
    'a\\\\|b&lt;script&gt;x'
    >>> md_text("two\\nlines")
    'two\\\\nlines'
    """
    text = _SYNTAX.sub(lambda m: "\\" + m.group(), str(value))
    return printable(_HTML_CHARS.sub(lambda m: _HTML[m.group()], text))
