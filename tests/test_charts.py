import html
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from reportgen import charts

NB, NNB = "\u00a0", "\u202f"
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "templates" / "fonts"




def year_channel() -> pd.DataFrame:
    rows = [(2007, "bilateral", 1_200_000.0), (2007, "regional", 300_000.0), (2007, "multilateral", 0.0),
            (2008, "bilateral", 800_000.0), (2008, "regional", pd.NA), (2008, "multilateral", 2_000_000.0),
            (2009, "bilateral", 0.0), (2009, "regional", 0.0), (2009, "multilateral", 0.0),
            (2010, "bilateral", 450_000.0), (2010, "regional", 1_000_000.0), (2010, "multilateral", 250_000.0),
            (2011, "bilateral", 3_000_000.0), (2011, "regional", 0.0), (2011, "multilateral", 500_000.0)]  # fmt: skip
    df = pd.DataFrame(rows, columns=["year", "channel", "committed"])
    return df.astype({"year": "Int64", "committed": "Float64"})


LABELS_FR = {"bilateral": "bilatéral", "regional": "régional", "multilateral": "multilatéral"}


def all_charts(fr, en):
    return {
        "stacked": charts.stacked_bars_by_year(
            year_channel(), series_col="channel", value_col="committed", order=list(LABELS_FR), labels=LABELS_FR, fmt=fr
        ),
        "hbars": charts.bars(["Europe du Sud-Est", "Afrique de l’Ouest et centrale", "Multi-pays"],
                             [12_345_678.4, 4_500_000, 0], fr),  # fmt: skip
        "vbars": charts.bars(["2007", "2008", "2009"], [1e6, None, 2.5e6], en, horizontal=False),
        "small": charts.small_bars_by_year([2007, 2008, 2009, 2010, 2011], [100_000, 0, 300_000, 220_000, None], fr),
        "stacked_wrapper": charts.stacked_bar_svg(["2007", "2008"], {"bilateral": [1.0, 2.0], "regional": [3.0, 0]},
                                                  "EUR", "en"),  # fmt: skip
        "hbar_wrapper": charts.hbar_svg(["a", "b"], [1.0, 2.0], "EUR", "fr"),
        "bar_wrapper": charts.bar_chart_svg(["2007", "2008"], [1.0, 2.0], "EUR", "fr"),
        "bar_wrapper_small": charts.bar_chart_svg(["2007", "2008"], [1.0, 2.0], "EUR", "fr", small=True),
    }


@pytest.fixture(scope="module")
def svgs(fr, en):
    return all_charts(fr, en)


def texts(svg: str) -> list[str]:
    """The text of the chart: with text drawn as paths, matplotlib keeps each string in a comment."""
    return [html.unescape(t) for t in re.findall(r"<!-- (.*?) -->", svg, re.S)]


def test_valid_standalone_svg(svgs):
    for name, svg in svgs.items():
        assert svg.startswith("<svg"), name  # no XML declaration, no DOCTYPE (which names an external DTD)
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox")), name
        assert root.get("width").endswith("pt") and root.get("height").endswith("pt")
        assert "<metadata" not in svg and "<title" not in svg


def test_no_script_no_external_reference_no_text_element(svgs):
    for name, svg in svgs.items():
        root = ET.fromstring(svg)
        tags = {el.tag.removeprefix(SVG) for el in root.iter()}
        assert not tags & {"script", "image", "foreignObject", "a", "text", "font", "font-face"}, (name, tags)
        for el in root.iter():
            for attr, value in el.attrib.items():
                if attr.endswith("href"):
                    assert value.startswith("#"), (name, value)
                assert not attr.startswith("on"), (name, attr)
        assert "url(http" not in svg and "@import" not in svg


@pytest.mark.slow  # starts other Python processes that import matplotlib (~3 s): the full tier's
def test_deterministic_within_and_across_processes(fr, en, svgs):
    assert all_charts(fr, en) == svgs
    code = (
        "from reportgen import charts; from reportgen.i18n import Formatter;"
        "print(charts.bars(['Europe du Sud-Est', 'Afrique'], [12345678.4, 4500000], Formatter('fr', 'EUR')), end='')"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert other == charts.bars(["Europe du Sud-Est", "Afrique"], [12_345_678.4, 4_500_000], fr)


def test_labels_are_localised(svgs):
    stacked = texts(svgs["stacked"])
    assert stacked[:4] == [f"0{NB}€", f"1{NB}M{NB}€", f"2{NB}M{NB}€", f"3{NB}M{NB}€"]  # short amounts, fr
    assert ["2007", "2008", "2009", "2010", "2011"] == [t for t in stacked if t.isdigit()]  # years never grouped
    assert stacked[-3:] == ["bilatéral", "régional", "multilatéral"]  # legend, in stacking order
    hbars = texts(svgs["hbars"])
    assert hbars == ["Europe du Sud-Est", f"12,3{NB}M{NB}€", "Afrique de l’Ouest et centrale", f"4,5{NB}M{NB}€",
                     "Multi-pays"]  # every bar in the chart's one short unit; a zero bar has no amount
    assert "Afrique de l’Ouest et centrale" in hbars
    vbars = texts(svgs["vbars"])
    assert "€2M" in vbars and "2008" in vbars
    small = texts(svgs["small"])
    assert small == ["2007", "2008", "2009", "2010", "2011", f"100{NB}k{NB}€", f"300{NB}k{NB}€", f"220{NB}k{NB}€"]
    assert stacked[10:14] == [f"1,5{NB}M{NB}€", f"2,8{NB}M{NB}€", f"1,7{NB}M{NB}€", f"3,5{NB}M{NB}€"]  # column totals


def test_numbers_appear_in_no_unexpected_form(svgs):
    for name, svg in svgs.items():
        for text in texts(svg):
            assert not re.search(r"\d[.,]\d{3}\b", text) or name in ("vbars", "stacked_wrapper"), (name, text)
            assert not re.search(r"\d e[+-]?\d|\d{1,3} \d{3}", text), (name, text)  # no 1e6, no ordinary-space groups
            assert "−" not in text and "$" not in text


def test_no_title_inside_the_chart(svgs):
    for svg in svgs.values():
        assert not any(t.lower().startswith(("figure", "commitments", "engagements")) for t in texts(svg))


def test_hostile_labels_are_plain_text(fr):
    labels = ["--><script>alert(1)</script><!--", "$x^2$ and $", "<b>bold</b> & co", "a" * 200]
    svg = charts.bars(labels, [1, 2, 3, 4], fr)
    root = ET.fromstring(svg)  # still well-formed
    assert not [el for el in root.iter() if el.tag.removeprefix(SVG) == "script"]
    assert "<script" not in svg and "<b>" not in svg
    shown = texts(svg)
    assert "$x^2$ and $" in shown  # not mathtext
    assert "<b>bold</b> & co" in shown
    # long labels: two lines at most (matplotlib draws each line on its own), cut with an ellipsis
    assert "a" * 30 in shown and "a" * 29 + "…" in shown and max(map(len, shown)) <= 31


def test_empty_and_degenerate_inputs(fr):
    for svg in (
        charts.bars([], [], fr),
        charts.bars(["a", "b"], [0, 0], fr),
        charts.bars(["a"], [float("nan")], fr, horizontal=False),
        charts.small_bars_by_year([], [], fr),
        charts.small_bars_by_year([2010, 2011], [0, 0], fr),
        charts.stacked_bar_svg([], {}, "EUR", "fr"),
        charts.stacked_bars_by_year(year_channel().iloc[0:0], series_col="channel", value_col="committed",
                                    order=["bilateral"], labels={}, fmt=fr),  # fmt: skip
    ):
        assert ET.fromstring(svg).tag == f"{SVG}svg"
    with pytest.raises(ValueError):
        charts.bars(["a"], [1, 2], fr)


def test_size_follows_the_arguments(fr):
    root = ET.fromstring(charts.small_bars_by_year([2010], [1], fr, width_cm=8, height_cm=3.2))
    assert float(root.get("width")[:-2]) == pytest.approx(8 / 2.54 * 72)
    assert float(root.get("height")[:-2]) == pytest.approx(3.2 / 2.54 * 72)
    short = ET.fromstring(charts.bars(["a"] * 3, [1, 2, 3], fr))
    tall = ET.fromstring(charts.bars(["a"] * 12, list(range(12)), fr))
    assert float(tall.get("height")[:-2]) > 3 * float(short.get("height")[:-2])


def test_project_font_wins_over_the_machine(svgs):
    from matplotlib import font_manager

    charts._setup()
    path = font_manager.findfont(font_manager.FontProperties(family="Noto Sans"))
    assert Path(path) == FONTS / "NotoSans-Regular.ttf"
    assert "NotoSans-Regular-" in svgs["stacked"]


def test_palette_contrast_and_distinct_colours():
    def luminance(hex_colour):
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for colour in charts.PALETTE:
        assert (1.05) / (luminance(colour) + 0.05) >= 3.0, colour  # WCAG 1.4.11 against white
    assert len(set(charts.PALETTE)) == len(charts.PALETTE)


# --- the shipped fonts --------------------------------------------------------------------------------------------

TEXT_FONTS = [f"Noto{family}-{style}.ttf" for family in ("Sans", "Serif")
              for style in ("Regular", "Bold", "Italic", "BoldItalic")]  # fmt: skip
NEEDED = "\u202f\u00a0€«»’‘“”–—…°ÉÈÊÀÇÔŒœæÆçàâéèêëîïôùûüÿ№•ŞșțȘȚ\u2011"


@pytest.mark.parametrize("name", TEXT_FONTS)
def test_fonts_cover_french_typography(name):
    from fontTools.ttLib import TTFont

    font = TTFont(FONTS / name)
    cmap = font.getBestCmap()
    missing = [f"U+{ord(c):04X}" for c in NEEDED if ord(c) not in cmap]
    assert not missing, f"{name} lacks {missing}"
    assert {"GPOS", "GSUB"} <= set(font.keys())  # kerning and ligatures kept
    assert font["name"].getDebugName(1) in ("Noto Sans", "Noto Serif")


def test_math_font_covers_what_noto_sans_lacks():
    from fontTools.ttLib import TTFont

    cmap = TTFont(FONTS / "NotoSansMath-Regular.ttf").getBestCmap()
    for c in "≤≥→←↑↓↗↘−≈≠∞":
        assert ord(c) in cmap, c


def test_fonts_ship_with_their_licence():
    text = (FONTS / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in text and "Google" in text
    assert "pyftsubset" in (FONTS / "README.md").read_text(encoding="utf-8")


def test_one_unit_per_chart(fr, en):
    """Axis and bars of one chart use one unit (never 500 k € beside 1 M €), in CLDR's compact form."""
    values = [404_500, 500_000, 1_000_000, 1_250_000]
    for fmt, unit_re in ((fr, f"{NB}M{NB}€$"), (en, r"^€[\d.]+M$")):
        shown = [t for t in texts(charts.bars(["2007", "2008", "2009", "2010"], values, fmt, horizontal=False))
                 if not t.isdigit()]
        assert shown and all(re.search(unit_re, t) for t in shown[1:]), shown  # shown[0] is the axis's 0
        assert shown[0] in (f"0{NB}€", "€0")
    assert fr.money_in(404_500, 1e6) == f"0,4{NB}M{NB}€" and en.money_in(404_500, 1e6) == "€0.4M"
    assert en.money_in(863_397_184, en.compact_unit([863_397_184])) == "€863.4M"
    assert en.money_in(5_000, 1e6) == "€5K"  # too small for the unit: its own short form rather than €0M
    assert en.money_in(None, 1e6) == "–"


def test_many_categories_make_one_others_bar(en):
    names = [f"Region {i:02d}" for i in range(58)]
    values = [float(1000 * (58 - i)) for i in range(58)]
    shown = texts(charts.bars(names, values, en, others="Other regions (%(num)s)"))
    labels = [t for t in shown if t.startswith(("Region", "Other"))]
    assert labels == names[: charts.MAX_BARS - 1] + [f"Other regions ({58 - charts.MAX_BARS + 1})"]
    rest = sum(values[charts.MAX_BARS - 1:])
    assert en.money_in(rest, en.compact_unit(values[: charts.MAX_BARS - 1] + [rest])) in shown
    # without an "others" label every category keeps its bar
    assert len([t for t in texts(charts.bars(names, values, en)) if t.startswith("Region")]) == 58


def test_others_bar_follows_max_bars_never_more_than_max(en):
    """``max_bars`` lowers the number of bars (the partners chart follows its table: top_partners rows, then one bar
    for the others); it never raises it above MAX_BARS."""
    assert charts.others_count(charts.MAX_BARS) == 0 and charts.others_count(charts.MAX_BARS + 1) == 2
    assert charts.others_count(11, max_bars=11) == 0 and charts.others_count(12, max_bars=11) == 2
    assert charts.others_count(40, max_bars=41) == 40 - (charts.MAX_BARS - 1)
    names = [f"Partner {i:02d}" for i in range(12)]
    values = [float(100 - i) for i in range(12)]
    shown = [t for t in texts(charts.bars(names, values, en, others="Other partners (%(num)s)", max_bars=11))
             if t.startswith(("Partner", "Other"))]
    assert shown == names[:10] + ["Other partners (2)"]
    many = [f"Partner {i:02d}" for i in range(40)]
    shown = [t for t in texts(charts.hbar_svg(many, [float(i) for i in range(40)], "EUR", "en",
                                              others="Other partners (%(num)s)", max_bars=41))
             if t.startswith(("Partner", "Other"))]
    assert shown == many[40 - (charts.MAX_BARS - 1):] + [f"Other partners ({40 - charts.MAX_BARS + 1})"]


def _drawn_extents(monkeypatch, draw):
    """The figure's size and the extent of every text it draws, in points (from matplotlib's own layout)."""
    seen = {}
    real = charts._Canvas.svg

    def capture(self):
        seen["canvas"] = self
        return real(self)

    monkeypatch.setattr(charts._Canvas, "svg", capture)
    svg = draw()
    canvas = seen["canvas"]
    renderer = canvas.fig.canvas.get_renderer() if hasattr(canvas.fig.canvas, "get_renderer") else None
    if renderer is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        renderer = FigureCanvasAgg(canvas.fig).get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in canvas.fig.texts]
    return svg, canvas, boxes


def test_a_legend_of_many_long_channels_wraps_inside_the_chart(monkeypatch, fr):
    """Issue 12: a vocabulary with many channels, some with long names, keeps its legend inside the chart: the
    entries go on several rows (the chart grows taller), a name too long for a row is cut with "…"."""
    names = ["bilatéral", "multilatéral via les agences des Nations unies", "régional", "société civile",
             "coopération décentralisée des collectivités territoriales", "fonds fiduciaires",
             "Programme conjoint de renforcement des capacités " * 4]
    series = {name: [1.0e6 * (k + 1), 2.0e6] for k, name in enumerate(names)}
    svg, canvas, boxes = _drawn_extents(monkeypatch, lambda: charts.stacked_bar_svg(["2010", "2011"], series,
                                                                                     "EUR", "fr"))
    legend = [(text, box) for text, box in boxes if not any(ch.isdigit() for ch in text)]
    assert len(legend) == len(names)
    for text, box in boxes:  # every text inside the figure, legend included
        assert box.x0 >= -0.5 and box.x1 <= canvas.width + 0.5, (text, box)
        assert box.y0 >= -0.5 and box.y1 <= canvas.height + 0.5, (text, box)
    rows = sorted({round(box.y0) for _, box in legend})
    assert len(rows) >= 3  # several rows of entries
    assert legend[-1][0].endswith("…") and len(legend[-1][0]) < len(names[-1])
    assert [t for t, _ in legend[:-1]] == names[:-1]  # the others in full, in stacking order
    # The bars keep their height: the chart grows by the extra rows of its legend.
    short = charts.stacked_bar_svg(["2010", "2011"], {"a": [1.0, 2.0], "b": [1.0, 1.0]}, "EUR", "fr")
    height = lambda s: float(ET.fromstring(s).get("height").removesuffix("pt"))  # noqa: E731
    assert height(svg) >= height(short) + (len(rows) - 1) * charts._LINE - 0.5


def test_legend_rows_keep_order_and_fit(fr):
    rows = charts.legend_rows(["a", "b" * 10, "c" * 300, "d"], 120.0)
    flat = [e for row in rows for e in row]
    assert flat[0] == "a" and flat[1] == "b" * 10 and flat[-1] == "d"
    assert flat[2].endswith("…")
    for row in rows:
        width = sum(charts._SQUARE + 3 + charts._text_width_pt(e) for e in row) + charts._LEGEND_SEP * (len(row) - 1)
        assert width <= 120.0 + 0.01, row
    assert charts.legend_rows(["x", "y"], 500.0) == [["x", "y"]]  # one row when they fit
