"""The printed layout, read from WeasyPrint's page boxes: what a reader would object to, and the last-page fit.

A rendered document (``weasyprint.HTML(...).render()``) keeps, for every page, the tree of boxes it drew with
their positions. This module reads that tree, so it sees what the PDF shows, charts included (their text is drawn
as paths, invisible to ``pdftotext``, but the chart's image box is here):

- :func:`check` lists the layout problems of a document: a box drawn outside the page's content area, two words
  drawn on top of each other, a number or code broken across lines, a heading as the last thing on a page, a
  stranded last page. The tests run it on every page of the embedded build and of the extreme datasets.
- :func:`last_page` measures the last page (how full it is, whether it opens a section of its own) and
  :class:`Fitter` uses it while the build renders a brief: a stranded last page makes the build render the brief
  once more, fitted (``fit-3`` on ``<body>``, print rules in ``common.css``).

It belongs to the product, not only to the tests, because the build needs the measure to fit briefs; it imports
nothing from reportgen, so any stage may use it.

The rule of the stranded page (``docs/templates.md``): a publication's last page holds at least a fifth of the
page's content height, unless it opens with a section of its own (an ``h2`` that is not the data notes').
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise

#: A last page filled below this share of the content height is stranded (unless it opens a section of its own).
STRANDED_BELOW = 0.2
#: The fit steps: each class on <body> tightens the print layout a little more (common.css, "Fit"). The build goes
#: straight to the last one: each step is a whole render more, and on the embedded dataset 33 of the 34 stranded
#: publications needed the last step anyway (measured when the three were tried in turn: the fitted briefs tripled
#: the build's rendering time). A lighter fit is ``Fitter(html, steps=("fit-1",))``.
FIT_STEPS = ("fit-1", "fit-2", "fit-3")
#: Sections that are notes: a last page that opens with one of them is stranded all the same.
NOTE_SECTIONS = frozenset({"data-notes"})

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TOLERANCE = 0.75  # CSS px: rounding of positions
# CSS px (0.4 mm) a glyph run may reach past the content area: WeasyPrint's column boxes round to a pixel or so,
# and the visible width of a text box is estimated from its characters; a margin is 15 mm or more.
_OUTSIDE_TOLERANCE = 1.5
# Elements whose text must stay on one line: amounts and figures in tables and key figures, codes, years.
_ONE_LINE_CLASSES = frozenset({"num", "nowrap", "year", "code", "trend"})
_FIGURE_START = re.compile(r"^[\d%‰€$£¥]")


@dataclass(frozen=True)
class Problem:
    page: int  # 1-based
    kind: str  # outside, overlap, split-figure, heading-last, stranded
    what: str

    def __str__(self) -> str:
        return f"p. {self.page}: {self.kind}: {self.what}"


@dataclass
class _Leaf:
    """A drawn piece of content: a run of text or a replaced element (image, chart), with where it sits."""

    box: object
    x: float
    y: float
    w: float
    h: float
    text: str
    tags: tuple[str, ...]  # the element tags from the root down
    classes: frozenset[str]  # every class of the element and its ancestors
    ids: tuple[str, ...]  # ids of the ancestors, root down
    line: int  # the id of its line box (0 for images)
    one_line: int  # id of the nearest ancestor element that must stay on one line (0: none)
    clipped: bool  # inside an element that clips (visually hidden)


@dataclass
class PageLayout:
    number: int
    x: float
    y: float
    width: float
    height: float
    leaves: list[_Leaf] = field(default_factory=list)
    lines: list[tuple[int, list[_Leaf]]] = field(default_factory=list)  # line boxes in order: (block's id, leaves)

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def fill(self) -> float:
        """How much of the content height the page's content uses, 0..1 (from the top of the content area)."""
        shown = [leaf for leaf in self.leaves if not leaf.clipped]
        if not shown:
            return 0.0
        return max(0.0, min(1.0, (max(leaf.y + leaf.h for leaf in shown) - self.y) / self.height))


def _classes(element) -> list[str]:
    return (element.get("class") or "").split() if element is not None else []


def _walk(box, tags, classes, ids, one_line, clipped, out: PageLayout, line: int, block: int) -> None:
    """Collect the leaves and line boxes under ``box``, with what their ancestors say (tags, classes, ids)."""
    from weasyprint.formatting_structure import (  # start-up time (WeasyPrint)
        boxes,  # imported here for start-up time: only a render needs it
    )

    element = getattr(box, "element", None)
    tag = getattr(box, "element_tag", "") or ""
    inline_text = isinstance(box, (boxes.TextBox, boxes.LineBox))
    own = _classes(element) if element is not None and not inline_text else []
    # An anonymous box repeats its parent's tag: counted once.
    if not inline_text and tag and (not tags or tags[-1] != tag or own):
        tags = (*tags, tag)
        classes = classes | frozenset(own)
        if element is not None and element.get("id"):
            ids = (*ids, element.get("id"))
        if "thead" not in tags and (_ONE_LINE_CLASSES & set(own) or (tag == "dd" and "key-figures" in classes)):
            one_line = id(box)
        if element is not None and "visually-hidden" in own:
            clipped = True
    if isinstance(box, boxes.LineBox):
        line = id(box)
        out.lines.append((block, []))
    elif isinstance(box, (boxes.BlockContainerBox, boxes.TableCellBox)):
        block = id(box)
    if isinstance(box, boxes.TextBox):
        leaf = _Leaf(box, box.border_box_x(), box.border_box_y(), box.border_width(), box.border_height(),
                     box.text, tags, classes, ids, line, one_line, clipped)
        out.leaves.append(leaf)
        if out.lines and line:
            out.lines[-1][1].append(leaf)
        return
    if isinstance(box, boxes.ReplacedBox):
        out.leaves.append(_Leaf(box, box.border_box_x(), box.border_box_y(), box.border_width(),
                                box.border_height(), "", tags, classes, ids, 0, one_line, clipped))
        return
    for child in getattr(box, "children", ()):
        _walk(child, tags, classes, ids, one_line, clipped, out, line, block)


def pages(document) -> list[PageLayout]:
    """Every page of a rendered WeasyPrint document, with its content area and what is drawn in it."""
    from weasyprint.formatting_structure import (  # start-up time (WeasyPrint)
        boxes,  # imported here for start-up time: only a render needs it
    )

    result = []
    for number, page in enumerate(document.pages, 1):
        pb = page._page_box  # WeasyPrint's way to a page's layout (Page._page_box)
        layout = PageLayout(number, pb.content_box_x(), pb.content_box_y(), pb.width, pb.height)
        for child in pb.children:
            if not isinstance(child, boxes.MarginBox):
                _walk(child, (), frozenset(), (), 0, False, layout, 0, 0)
        result.append(layout)
    return result


def _outside(page: PageLayout) -> Iterator[Problem]:
    for leaf in page.leaves:
        if leaf.clipped or (leaf.text and not leaf.text.strip()):
            continue
        left, top, right, bottom = _ink(leaf)
        if (left < page.x - _OUTSIDE_TOLERANCE or right > page.x + page.width + _OUTSIDE_TOLERANCE
                or top < page.y - _OUTSIDE_TOLERANCE or bottom > page.bottom + _OUTSIDE_TOLERANCE):
            what = repr(leaf.text.strip()[:40]) if leaf.text else f"<{leaf.tags[-1] if leaf.tags else '?'}>"
            yield Problem(page.number, "outside",
                          f"{what} at x {left:.0f}–{right:.0f}, y {top:.0f}–{bottom:.0f} px; content "
                          f"area x {page.x:.0f}–{page.x + page.width:.0f}, y {page.y:.0f}–{page.bottom:.0f}")


def _ink(leaf: _Leaf) -> tuple[float, float, float, float]:
    """The part of a text box where its glyphs are: the visible text's width, the middle of the line's height
    (line boxes of a tight leading overlap by their half-leading, which draws nothing)."""
    text = leaf.text
    w = leaf.w * len(text.rstrip()) / max(len(text), 1) if text else leaf.w
    start = leaf.w * (len(text) - len(text.lstrip())) / max(len(text), 1) if text else 0.0
    inset = leaf.h * 0.2 if text else 0.0
    return leaf.x + start, leaf.y + inset, leaf.x + w, leaf.y + leaf.h - inset


def _overlaps(page: PageLayout) -> Iterator[Problem]:
    items = [(_ink(leaf), leaf) for leaf in page.leaves if not leaf.clipped and (leaf.text.strip() or not leaf.text)]
    items.sort(key=lambda item: item[0][1])
    active: list[tuple[tuple[float, float, float, float], _Leaf]] = []
    for rect, leaf in items:
        active = [a for a in active if a[0][3] > rect[1] + _TOLERANCE]
        for other_rect, other in active:
            if other.line and other.line == leaf.line:
                continue  # pieces of one line (inline boxes) abut by construction
            dx = min(rect[2], other_rect[2]) - max(rect[0], other_rect[0])
            dy = min(rect[3], other_rect[3]) - max(rect[1], other_rect[1])
            if dx > _TOLERANCE and dy > _TOLERANCE:
                a = repr(leaf.text.strip()[:30]) if leaf.text else f"<{leaf.tags[-1]}>"
                b = repr(other.text.strip()[:30]) if other.text else f"<{other.tags[-1]}>"
                yield Problem(page.number, "overlap", f"{a} drawn over {b} (y {rect[1]:.0f})")
        active.append((rect, leaf))


def _split_figures(page: PageLayout) -> Iterator[Problem]:
    by_element: dict[int, set[float]] = {}
    text: dict[int, str] = {}
    for leaf in page.leaves:
        if leaf.one_line and leaf.text.strip():
            by_element.setdefault(leaf.one_line, set()).add(round(leaf.y))
            text[leaf.one_line] = text.get(leaf.one_line, "") + leaf.text
    for key, ys in by_element.items():
        if len(ys) > 1 and re.search(r"\d", text[key]):  # words ("not reported") may wrap; figures may not
            yield Problem(page.number, "split-figure", f"{text[key].strip()[:40]!r} on {len(ys)} lines")
    lines = [line for line in page.lines if line[1]]
    for (block, before), (next_block, after) in pairwise(lines):
        if block != next_block:
            continue
        raw_end = "".join(leaf.text for leaf in before)
        start = "".join(leaf.text for leaf in after).lstrip()
        # A line that ends inside a number (a digit or a digit and its group separator, no space: the break was
        # not at a word boundary) and a next line that goes on with digits, a percent or a currency sign.
        if re.search(r"\d[,.\u202f\u00a0]?$", raw_end) and _FIGURE_START.search(start):
            tail = re.search(r"[\d,.\u202f\u00a0]*$", raw_end).group(0)
            head = re.match(r"^[\d,.\u202f\u00a0%‰€$£¥]*", start).group(0)
            yield Problem(page.number, "split-figure", f"{tail!r} / {head!r}")


def _heading_last(page: PageLayout) -> Iterator[Problem]:
    shown = [leaf for leaf in page.leaves if not leaf.clipped and (leaf.text.strip() or not leaf.text)]
    if shown:
        last = shown[-1]
        if any(tag in _HEADINGS for tag in last.tags) or "caption" in last.tags or "figcaption" in last.tags:
            yield Problem(page.number, "heading-last", f"{last.text.strip()[:60]!r} ends the page")


@dataclass(frozen=True)
class LastPage:
    fill: float  # 0..1 of the content height
    opens_section: bool  # the page opens with a section heading (not the notes')
    notes_only: bool

    @property
    def stranded(self) -> bool:
        return self.fill < STRANDED_BELOW and not self.opens_section


def last_page(layouts: list[PageLayout]) -> LastPage:
    """How the last page is used. A one-page document is never stranded."""
    if len(layouts) < 2:
        return LastPage(1.0, True, False)
    page = layouts[-1]
    shown = [leaf for leaf in page.leaves if not leaf.clipped and (leaf.text.strip() or not leaf.text)]
    if not shown:
        return LastPage(0.0, False, True)
    first = shown[0]
    def in_notes(leaf: _Leaf) -> bool:
        return bool(NOTE_SECTIONS & set(leaf.ids)) or "data-note" in leaf.classes

    opens = any(tag in ("h1", "h2") for tag in first.tags) and not in_notes(first)
    return LastPage(page.fill(), opens, all(in_notes(leaf) for leaf in shown))


def _stranded(layouts: list[PageLayout]) -> Iterator[Problem]:
    last = last_page(layouts)
    if last.stranded:
        yield Problem(len(layouts), "stranded",
                      f"the last page is {last.fill:.0%} full and does not open a section of its own"
                      + (" (it holds only notes)" if last.notes_only else ""))


def check(document) -> list[Problem]:
    """Every layout problem of a rendered document (see the module's docstring), page by page."""
    layouts = pages(document)
    problems: list[Problem] = []
    for page in layouts:
        problems += _outside(page)
        problems += _overlaps(page)
        problems += _split_figures(page)
        if page.number < len(layouts):
            problems += _heading_last(page)
    problems += _stranded(layouts)
    return problems


class Fitter:
    """Fits a brief's last page: called with each rendered document, it returns the HTML to render again fitted (the
    last class of ``steps`` on ``<body>``) when the last page is stranded, or ``None`` to keep the document as it is;
    ``last`` then says how the kept document's last page is used. With no steps it only measures."""

    def __init__(self, html: str, steps: tuple[str, ...] = FIT_STEPS):
        self.html = html
        self.steps = steps
        self.step = 0
        self.last: LastPage | None = None  # the last page of the document kept

    def __call__(self, document) -> str | None:
        layouts = pages(document)
        self.last = last_page(layouts)
        if not self.last.stranded or self.step >= len(self.steps):
            return None
        self.step = len(self.steps)  # straight to the last step: one render more (see FIT_STEPS)
        return with_fit_class(self.html, self.steps[-1])


def with_fit_class(html: str, step: str) -> str:
    """``html`` with ``step`` added to the classes of its ``<body>``."""
    new, n = re.subn(r'(<body\b[^>]*\bclass=")([^"]*)"', lambda m: f'{m.group(1)}{m.group(2)} {step}"', html, count=1)
    if not n:
        raise ValueError("the page has no <body class=…>")
    return new
