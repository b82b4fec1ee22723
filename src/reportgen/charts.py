"""Charts as vector SVG: matplotlib's SVG backend, the project's fonts, deterministic bytes.

Every function returns the text of a standalone SVG document that starts with ``<svg`` (no XML declaration, no
DOCTYPE, no metadata), has a ``viewBox`` and a width and height in points, and needs nothing at view time: text is
converted to paths (``svg.fonttype = "path"``), so the SVG embeds no font and links to nothing; the only
``href`` are internal (``#…``). The same inputs give the same bytes, in any process on any machine with the same
matplotlib (fixed ``svg.hashsalt``, no date). Charts carry no title: the publication's ``<figcaption>`` does, and
their text alternative and their numbers in a table are the publication's too (``context.py``).

Text is set in Noto Sans from ``templates/fonts/`` (the files the publications embed), falling back on Noto Sans
Math and then matplotlib's own DejaVu Sans for a character Noto Sans lacks. Colours are the Okabe–Ito
colour-blind-safe palette, each with a contrast of at least 3:1 against white (WCAG 1.4.11), and stacked segments
are separated by a white line. Amounts on axes and bars are short, in one unit per chart (fr ``0,5 M €`` beside
``1,5 M €``, en ``€0.5M``; :meth:`reportgen.i18n.Formatter.money_in`): the exact amounts are in the tables. Labels from the data are plain text, never mathtext
(``$`` is a dollar).

Figures are made with :class:`matplotlib.figure.Figure`, never pyplot (no global figure state), and drawn without
Axes: bars, lines and labels are placed in points by this module (no tick machinery), which keeps a chart at about
10–50 ms.

Two ways in: the functions on data (:func:`stacked_bars_by_year`, :func:`bars`, :func:`small_bars_by_year`) take a
:class:`~reportgen.i18n.Formatter`; the wrappers :func:`stacked_bar_svg`, :func:`hbar_svg` and
:func:`bar_chart_svg` take only JSON-able values (``currency``, ``lang``) so that a caller can cache charts by their
inputs.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .i18n import Formatter
from .settings import templates_root

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Okabe & Ito's palette, in the order series use it; every colour has a contrast ≥ 3:1 against white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#332288", "#882255")
BAR_COLOR = PALETTE[0]
TEXT_COLOR = "#1a1a1a"
AXIS_COLOR = "#595959"
GRID_COLOR = "#d9d9d9"
FONT_SIZE = 8.0  # points
FONT_FILES = ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Italic.ttf", "NotoSans-BoldItalic.ttf",
              "NotoSansMath-Regular.ttf")  # fmt: skip
FAMILIES = ["Noto Sans", "Noto Sans Math", "DejaVu Sans"]
_LABEL_CHARS = 30  # category labels wrap at about this many characters, on at most two lines
MAX_BARS = 15  # horizontal bars beyond this many: the largest MAX_BARS - 1 and one "others" bar


def fonts_dir() -> Path:
    return templates_root() / "fonts"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """What decides a chart's bytes besides its inputs: this module, matplotlib's version and the fonts."""
    import matplotlib  # start-up time: matplotlib loads with the first chart

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(matplotlib.__version__.encode())
    for name in FONT_FILES:
        try:
            h.update(hashlib.sha256((fonts_dir() / name).read_bytes()).digest())
        except OSError:
            h.update(b"missing")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _setup() -> dict:
    """Register the project's fonts (once per process); the rc settings of every chart."""
    from matplotlib import font_manager  # start-up time (matplotlib)

    folder = fonts_dir()
    ours = [str(folder / name) for name in FONT_FILES]
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in ours:
        if path not in known:
            font_manager.fontManager.addfont(path)
    # The machine may have its own Noto Sans: ours must win the ties of findfont, whatever is installed.
    font_manager.fontManager.ttflist.sort(key=lambda f: f.fname not in ours)
    font_manager.fontManager._findfont_cached.cache_clear()  # type: ignore[attr-defined]
    return {
        "svg.fonttype": "path",
        "svg.hashsalt": "reportgen",
        "font.family": FAMILIES,
        "font.size": FONT_SIZE,
        "text.color": TEXT_COLOR,
        "text.parse_math": False,
        "text.usetex": False,
        "path.simplify": False,
    }


@functools.lru_cache(maxsize=4096)
def _text_width_pt(text: str) -> float:
    """Width of ``text`` (widest line) in points at FONT_SIZE, in Noto Sans and its fallbacks."""
    from matplotlib.font_manager import FontProperties, fontManager, get_font  # start-up time (matplotlib)

    _setup()
    font = get_font(fontManager._find_fonts_by_props(FontProperties(family=FAMILIES)))  # type: ignore[attr-defined]
    font.set_size(FONT_SIZE, 72)
    widest = 0.0
    for line in text.split("\n"):
        font.set_text(line, 0.0)
        widest = max(widest, font.get_width_height()[0] / 64)
    return widest


def _wrap(label: str) -> str:
    """A category label on at most two lines of about _LABEL_CHARS characters, cut with "…" beyond."""
    lines = textwrap.wrap(" ".join(str(label).split()), _LABEL_CHARS, break_long_words=True) or [""]
    if len(lines) > 2:
        rest = " ".join(lines[1:])[: _LABEL_CHARS - 1]
        space = rest.rfind(" ")
        lines = [lines[0], (rest[:space] if space > _LABEL_CHARS // 2 else rest).rstrip() + "…"]
    return "\n".join(lines)


def _clean(values: Sequence[float | None]) -> list[float]:
    out = []
    for v in values:
        try:
            f = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            f = 0.0
        out.append(f if math.isfinite(f) and f > 0 else 0.0)
    return out


def _nice_ticks(top: float, n: int = 4) -> list[float]:
    from matplotlib.ticker import MaxNLocator  # start-up time (matplotlib)

    if top <= 0:
        return [0.0]
    ticks = MaxNLocator(nbins=n, steps=[1, 2, 2.5, 5, 10], min_n_ticks=2).tick_values(0, top)
    return [float(t) for t in ticks if t >= 0]


class _Canvas:
    """A figure drawn in points from its bottom-left corner: no Axes, no ticks, so layout is ours and fast."""

    def __init__(self, width_cm: float, height_cm: float):
        from matplotlib.figure import Figure  # start-up time (matplotlib)
        from matplotlib.transforms import IdentityTransform  # start-up time (matplotlib)

        self.width = width_cm * 72 / 2.54
        self.height = height_cm * 72 / 2.54
        self.fig = Figure(figsize=(self.width / 72, self.height / 72), dpi=72)  # 1 display unit = 1 point
        self.points = IdentityTransform()

    def rects(self, boxes: list[tuple[float, float, float, float]], color: str, edge: str | None = None) -> None:
        """Rectangles (x, y, width, height), one colour; zero-size ones are left out."""
        from matplotlib.collections import PolyCollection  # start-up time (matplotlib)

        verts = [((x, y), (x + w, y), (x + w, y + h), (x, y + h)) for x, y, w, h in boxes if w > 0 and h > 0]
        if verts:
            self.fig.add_artist(PolyCollection(verts, facecolors=color, edgecolors=edge or "none",
                                               linewidths=0.6 if edge else 0, transform=self.points, zorder=1))  # fmt: skip

    def lines(self, segments: list[tuple[tuple[float, float], tuple[float, float]]], color: str, width: float,
              *, behind: bool = False) -> None:  # fmt: skip
        """Straight lines, one colour: above the bars, or ``behind`` them (grid lines)."""
        from matplotlib.collections import LineCollection  # start-up time (matplotlib)

        if segments:
            self.fig.add_artist(LineCollection(segments, colors=color, linewidths=width, transform=self.points,
                                               capstyle="butt", zorder=0.5 if behind else 2))  # fmt: skip

    def text(self, x: float, y: float, text: str, ha: str, va: str) -> None:
        self.fig.text(x, y, text, transform=self.points, ha=ha, va=va, fontsize=FONT_SIZE, color=TEXT_COLOR)

    def svg(self) -> str:
        from matplotlib.backends.backend_svg import FigureCanvasSVG  # start-up time (matplotlib)

        FigureCanvasSVG(self.fig)
        buf = io.StringIO()
        self.fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
        return _METADATA.sub("", _HEADER.sub("", buf.getvalue()))


_HEADER = re.compile(r"\A<\?xml[^>]*\?>\s*(?:<!DOCTYPE[^>]*>\s*)?")
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_PAD = 4.0  # points around the drawing
_GAP = 4.0  # points between a label and what it labels
_LINE = FONT_SIZE * 1.5  # height of a line of text
_SQUARE = FONT_SIZE * 0.9  # a legend's colour square
_LEGEND_SEP = 14.0  # points between two legend entries


def _fit_text(text: str, width: float) -> str:
    """``text`` cut with "…" (at a space when one is near) so that it is at most ``width`` points wide."""
    if _text_width_pt(text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with its ellipsis
        mid = (lo + hi + 1) // 2
        if _text_width_pt(text[:mid].rstrip() + "…") <= width:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    space = cut.rfind(" ")
    if space > lo * 2 // 3:
        cut = cut[:space]
    return cut.rstrip() + "…"


def legend_rows(labels: Sequence[str], width: float) -> list[list[str]]:
    """The entries of a legend laid out in rows of at most ``width`` points, in order: an entry goes on the next row
    when it does not fit beside the previous ones, and a label too long for a row of its own is cut with "…" (the
    table beside the chart names every series in full)."""
    rows: list[list[str]] = []
    x = width + 1.0
    for label in labels:
        text = _fit_text(str(label), width - _SQUARE - 3)
        w = _SQUARE + 3 + _text_width_pt(text)
        if rows and x + w <= width:
            rows[-1].append(text)
        else:
            rows.append([text])
            x = 0.0
        x += w + _LEGEND_SEP
    return rows


def _columns(
    canvas: _Canvas,
    categories: Sequence[str],
    series: Sequence[tuple[str, list[float]]],
    fmt: Formatter,
    *,
    legend: bool,
    axis: bool,
) -> None:
    """Vertical bars (stacked when several series) with the categories below, and an axis of short amounts; the
    legend above them, on as many rows as its entries need (:func:`legend_rows`)."""
    n = len(categories)
    totals = [sum(values[i] for _, values in series) for i in range(n)]
    top = max(totals, default=0.0)
    ticks = _nice_ticks(top) if axis else [top]
    scale_top = max(ticks[-1], top) or 1.0
    unit = fmt.compact_unit([*ticks, top])  # one unit for the whole chart: never 500 k € beside 1 M €
    tick_labels = [fmt.money_in(t, unit) for t in ticks] if axis else []
    x0 = _PAD + (max(map(_text_width_pt, tick_labels)) + _GAP if tick_labels else 0)
    x1 = canvas.width - _PAD
    slot = (x1 - x0) / max(n, 1)
    # Every column carries its amount above it when the amounts fit their columns; else only the highest does.
    amounts = [fmt.money_in(v, unit) if v > 0 else "" for v in totals]
    every_bar = max(map(_text_width_pt, amounts), default=0.0) + 2 <= slot
    y0 = _PAD + _LINE
    rows = legend_rows([label for label, _ in series], x1 - x0) if legend else []
    y1 = canvas.height - _PAD - (len(rows) * _LINE + 4 if rows else (FONT_SIZE / 2 if axis else 0)) - _LINE
    bar = slot * 0.7

    def y(v: float) -> float:
        return y0 + (y1 - y0) * v / scale_top

    if axis:
        canvas.lines([((x0, y(t)), (x1, y(t))) for t in ticks[1:]], GRID_COLOR, 0.5, behind=True)
        for t, label in zip(ticks, tick_labels):
            canvas.text(x0 - _GAP, y(t), label, "right", "center_baseline")
    bottoms = [0.0] * n
    for k, (_, values) in enumerate(series):
        boxes = [(x0 + (i + 0.15) * slot, y(bottoms[i]), bar, y(bottoms[i] + values[i]) - y(bottoms[i]))
                 for i in range(n)]  # fmt: skip
        canvas.rects(boxes, PALETTE[k % len(PALETTE)], edge="white" if len(series) > 1 else None)
        bottoms = [b + v for b, v in zip(bottoms, values)]
    canvas.lines([((x0, y0), (x1, y0))], AXIS_COLOR, 0.6)
    every = 1
    widest = max(map(_text_width_pt, categories), default=0.0)
    while widest + _GAP > slot * every and every < n:
        every += 1
    for i in range(0, n, every):
        canvas.text(x0 + (i + 0.5) * slot, y0 - 3, str(categories[i]), "center", "top")
    if top > 0:
        for i in (range(n) if every_bar else [totals.index(top)]):
            if amounts[i]:
                canvas.text(x0 + (i + 0.5) * slot, y(totals[i]) + 2, amounts[i], "center", "bottom")
    k = 0
    for r, entries in enumerate(rows):
        x, ly = x0, canvas.height - _PAD - _LINE / 2 - 2 - r * _LINE
        for text in entries:
            canvas.rects([(x, ly - _SQUARE / 2, _SQUARE, _SQUARE)], PALETTE[k % len(PALETTE)])
            canvas.text(x + _SQUARE + 3, ly, text, "left", "center_baseline")
            x += _SQUARE + 3 + _text_width_pt(text) + _LEGEND_SEP
            k += 1


def _draw_stacked(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    fmt: Formatter,
    width_cm: float,
    height_cm: float,
) -> str:
    import matplotlib  # start-up time (matplotlib)

    clean = [(str(label), _clean(values)) for label, values in series]
    for label, values in clean:
        if len(values) != len(categories):
            raise ValueError(f"stacked bars: series {label!r} has {len(values)} values for {len(categories)} years")
    with matplotlib.rc_context(_setup()):
        # A legend of several rows makes the chart taller, not its bars shorter.
        rows = len(legend_rows([label for label, _ in clean], width_cm * 72 / 2.54 - 2 * _PAD))
        canvas = _Canvas(width_cm, height_cm + max(rows - 1, 0) * _LINE * 2.54 / 72)
        _columns(canvas, [str(c) for c in categories], clean, fmt, legend=bool(clean), axis=True)
        return canvas.svg()


def stacked_bars_by_year(
    df: pd.DataFrame,
    *,
    series_col: str,
    value_col: str,
    order: Sequence[str],
    labels: dict[str, str],
    fmt: Formatter,
    year_col: str = "year",
    width_cm: float = 16.0,
    height_cm: float = 7.5,
) -> str:
    """Stacked vertical bars: one bar per year, one segment per series (e.g. amounts committed by year × channel).

    ``df`` has one row per (year, series) with the amount in ``value_col`` (missing rows and NA count as 0);
    ``order`` gives the series from the bottom of the stack up (and the legend's order, left to right), ``labels``
    their translated names. A legend sits above the bars; years are printed as they are (never grouped); the
    amount axis on the left uses short amounts (``1,5 M €``).
    """
    years = sorted({int(y) for y in df[year_col].dropna()})
    table = df.groupby([year_col, series_col])[value_col].sum()
    series = [(labels.get(code, code), [table.get((y, code)) for y in years]) for code in order]
    return _draw_stacked([str(y) for y in years], series, fmt, width_cm, height_cm)


def bars(
    categories: Sequence[str],
    values: Sequence[float | None],
    fmt: Formatter,
    horizontal: bool = True,
    *,
    width_cm: float = 16.0,
    height_cm: float | None = None,
    value_labels: bool = True,
    others: str = "",
    max_bars: int = MAX_BARS,
) -> str:
    """Bars of one series, in the given order (e.g. amounts committed by region, partner or pillar).

    Horizontal (default): categories top to bottom, their labels on the left wrapped on at most two lines, each
    bar labelled with its amount in the chart's short unit (``1,2 M €``, see :meth:`Formatter.money_in`), no
    amount axis; the height grows with the number of bars unless ``height_cm`` is given. With more than
    ``max_bars`` (at most :data:`MAX_BARS`) categories and an ``others`` label (``"Others (%(num)s)"``,
    translated), the largest ``max_bars - 1`` keep their bar, in their order, and the rest make one last bar under
    that label, with their count (:func:`others_count`). Vertical: categories left to right (e.g. years) under the
    bars, an axis of short amounts on the left, no labels on bars (height 6 cm unless given). NA and negative values
    count as 0.
    """
    import matplotlib  # start-up time (matplotlib)

    vals = _clean(values)
    n = len(vals)
    if len(categories) != n:
        raise ValueError(f"bars: {len(categories)} categories for {n} values")
    categories = [str(c) for c in categories]
    if horizontal and others and others_count(n, max_bars):
        keep = sorted(sorted(range(n), key=lambda i: -vals[i])[: _max_bars(max_bars) - 1])
        rest = [i for i in range(n) if i not in set(keep)]
        categories = [categories[i] for i in keep] + [others % {"num": len(rest)}]
        vals = [vals[i] for i in keep] + [sum(vals[i] for i in rest)]
        n = len(vals)
    with matplotlib.rc_context(_setup()):
        if not horizontal:
            canvas = _Canvas(width_cm, height_cm if height_cm is not None else 6.0)
            _columns(canvas, categories, [("", vals)], fmt, legend=False, axis=True)
            return canvas.svg()
        names = [_wrap(c) for c in categories]
        row = 2 * _LINE + 2 if any("\n" in s for s in names) else _LINE + 6
        height = height_cm if height_cm is not None else (n * row + 2 * _PAD) * 2.54 / 72
        canvas = _Canvas(width_cm, height)
        unit = fmt.compact_unit(vals)
        amounts = [fmt.money_in(v, unit) if v > 0 else "" for v in vals] if value_labels else []
        x0 = _PAD + max(map(_text_width_pt, names), default=0.0) + _GAP
        x1 = canvas.width - _PAD - (max(map(_text_width_pt, amounts), default=0.0) + _GAP if amounts else 0)
        x1 = max(x1, x0 + 1)
        row = (canvas.height - 2 * _PAD) / max(n, 1)
        top = max(vals, default=0.0) or 1.0
        boxes = []
        for i, (name, v) in enumerate(zip(names, vals)):
            mid = canvas.height - _PAD - (i + 0.5) * row
            w = (x1 - x0) * v / top
            boxes.append((x0, mid - row * 0.34, w, row * 0.68))
            canvas.text(x0 - _GAP, mid, name, "right", "center")
            if amounts:
                canvas.text(x0 + w + 3, mid, amounts[i], "left", "center")
        canvas.rects(boxes, BAR_COLOR)
        canvas.lines([((x0, _PAD), (x0, canvas.height - _PAD))], AXIS_COLOR, 0.6)
        return canvas.svg()


def _max_bars(max_bars: int) -> int:
    return max(2, min(MAX_BARS, max_bars))


def others_count(n: int, max_bars: int = MAX_BARS) -> int:
    """How many of ``n`` categories a horizontal chart with an "others" label adds up in its last bar: 0 when
    they all fit (``max_bars``, at most :data:`MAX_BARS`), else all but the ``max_bars - 1`` largest."""
    limit = _max_bars(max_bars)
    return n - (limit - 1) if n > limit else 0


def small_bars_by_year(
    years: Sequence[int | str],
    values: Sequence[float | None],
    fmt: Formatter,
    *,
    width_cm: float = 8.0,
    height_cm: float = 3.2,
) -> str:
    """A small by-year bar chart for a country brief: no axis of amounts, every bar labelled with its amount (short
    form, one unit; only the highest when they do not fit), a baseline, and the years below (as many as fit).
    """
    import matplotlib  # start-up time (matplotlib)

    vals = _clean(values)
    if len(years) != len(vals):
        raise ValueError(f"small_bars_by_year: {len(years)} years for {len(vals)} values")
    with matplotlib.rc_context(_setup()):
        canvas = _Canvas(width_cm, height_cm)
        _columns(canvas, [Formatter.year(y) for y in years], [("", vals)], fmt, legend=False, axis=False)
        return canvas.svg()


# --- JSON-able entry points (context.py caches charts by their inputs) -------------------------------------------


@functools.lru_cache(maxsize=16)
def _formatter(lang: str, currency: str) -> Formatter:
    return Formatter(lang, currency)


def stacked_bar_svg(
    categories: Sequence[str],
    series: dict[str, Sequence[float | None]],
    currency: str,
    lang: str,
    *,
    width_cm: float = 16.0,
    height_cm: float = 7.5,
) -> str:
    """:func:`stacked_bars_by_year` on plain values: ``series`` maps each translated label (in stacking order,
    bottom first) to its values, one per category (year)."""
    return _draw_stacked([str(c) for c in categories], list(series.items()), _formatter(lang, currency),
                         width_cm, height_cm)  # fmt: skip


def hbar_svg(labels: Sequence[str], values: Sequence[float | None], currency: str, lang: str, *,
             width_cm: float = 16.0, others: str = "", max_bars: int = MAX_BARS) -> str:  # fmt: skip
    """Horizontal :func:`bars`, labelled with amounts (by region, partner, theme); ``others`` and ``max_bars``:
    see :func:`bars`."""
    return bars(list(labels), list(values), _formatter(lang, currency), horizontal=True, width_cm=width_cm,
                others=others, max_bars=max_bars)


def bar_chart_svg(
    categories: Sequence[str],
    values: Sequence[float | None],
    currency: str,
    lang: str,
    *,
    small: bool = False,
    horizontal: bool = False,
) -> str:
    """Bars by year: :func:`small_bars_by_year` when ``small`` (country brief), else vertical :func:`bars`
    (or horizontal ones with ``horizontal=True``)."""
    fmt = _formatter(lang, currency)
    if small:
        return small_bars_by_year(list(categories), list(values), fmt)
    return bars(list(categories), list(values), fmt, horizontal=horizontal)
