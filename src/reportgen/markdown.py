"""Narrative Markdown from the dataset, rendered to safe HTML.

The dataset is untrusted (``docs/security.md``), so its Markdown can format text and nothing more:

- CommonMark (markdown-it-py) plus tables; raw HTML is not parsed, it prints as text (``<script>`` shows as
  ``&lt;script&gt;``); no linkify, no typographer;
- links only to ``http://``, ``https://`` and ``mailto:`` URLs, with ``rel="noopener noreferrer"``; any other link
  (``javascript:``, ``data:``, ``file:``, ``vbscript:``, relative paths, anchors) is dropped and its text kept;
- images are replaced by their alt text, unless the caller passes ``resolve_asset`` and the image is a plain
  ``assets/…`` path to a PNG, JPEG or SVG file (no ``..``, no scheme, no query): then ``resolve_asset(path)`` says
  which URL to use, or ``None`` to refuse it (alt text again);
- headings start at ``<h3>`` (``#`` → h3, ``##`` → h4…, capped at h6): the publication owns h1 and h2;
- table cell alignment is a class (``align-left``, ``align-center``, ``align-right``), not a ``style`` attribute;
- French typography (:func:`reportgen.typography.french_html`) when ``lang == "fr"``.

The result is :class:`markupsafe.Markup`: a template prints it as it is. It is never compiled as a template, so
``{{ 7*7 }}`` in the data prints ``{{ 7*7 }}``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup

from .assets import IMAGE_PATH
from .typography import french_html

ResolveAsset = Callable[[str], "str | None"]

_ALLOWED_HREF = re.compile(r"(?:https?://|mailto:)[^\s\x00-\x1f\x7f]*", re.I)
_ALIGN = re.compile(r"text-align:\s*(left|center|right)")


def _plain_text(tokens: list[Token] | None) -> str:
    out = []
    for t in tokens or []:
        if t.type in ("text", "code_inline"):
            out.append(t.content)
        elif t.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif t.children:
            out.append(_plain_text(t.children))
    return "".join(out)


def _is_asset_path(src: str) -> bool:
    return bool(IMAGE_PATH.fullmatch(src)) and ".." not in src.split("/")


def _safe_inline(children: list[Token], resolve_asset: ResolveAsset | None) -> list[Token]:
    out: list[Token] = []
    dropping_link = False
    for t in children:
        if t.type == "link_open":
            href = t.attrGet("href") or ""
            if _ALLOWED_HREF.fullmatch(str(href)):
                t.attrSet("rel", "noopener noreferrer")
                out.append(t)
            else:
                dropping_link = True  # keep the text, lose the link
            continue
        if t.type == "link_close":
            if dropping_link:
                dropping_link = False
            else:
                out.append(t)
            continue
        if t.type == "image":
            src = str(t.attrGet("src") or "")
            url = resolve_asset(src) if resolve_asset is not None and _is_asset_path(src) else None
            if isinstance(url, str) and url:
                t.attrSet("src", url)
                out.append(t)
            else:
                text = Token("text", "", 0)
                text.content = _plain_text(t.children) or t.content
                out.append(text)
            continue
        out.append(t)
    return out


def _safety_rule(state: StateCore) -> None:
    resolve_asset = state.env.get("resolve_asset") if isinstance(state.env, dict) else None
    for token in state.tokens:
        if token.type == "inline" and token.children:
            token.children = _safe_inline(token.children, resolve_asset)
        elif token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"
        elif token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            m = _ALIGN.search(str(style or ""))
            if m:
                token.attrSet("class", f"align-{m.group(1)}")


@functools.lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "xhtmlOut": False}).enable("table")
    # Every link and image is parsed, then judged by _safety_rule (so that a refused link keeps its text).
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.core.ruler.push("reportgen_safety", _safety_rule)
    return md


def render_markdown(text: str | None, lang: str, *, resolve_asset: ResolveAsset | None = None) -> Markup:
    """Safe HTML of the dataset's Markdown ``text`` for a publication in ``lang`` (see the module docstring).

    ``resolve_asset(path)`` receives an image path such as ``assets/map.png`` and returns the URL to put in
    ``src`` (for example a path relative to the published page), or ``None`` to show the alt text instead.
    """
    if not text:
        return Markup("")
    html = _parser().render(str(text), {"resolve_asset": resolve_asset})
    if lang == "fr":
        html = french_html(html)
    return Markup(html)
