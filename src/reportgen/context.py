"""The template context of one publication: everything its template prints, computed from the data.

:func:`build_context` turns a :class:`~reportgen.model.Doc`, the validated :class:`~reportgen.model.Dataset` and its
:class:`~reportgen.aggregate.Figures` into a plain ``dict`` of strings, numbers, lists and small dicts. It is pure:
it reads no file and writes none. Values are *raw*: amounts are floats (``None`` when not reported), shares are
0..1 (to :data:`SHARE_DECIMALS` decimals), years are ints; templates format them with the environment's filters
(``money``, ``percent``, ``number``, ``year``, ``month``, ``date``). Names are already in the publication's language (``countries.csv`` /
``regions.csv`` overrides, else CLDR). Every key is listed in ``docs/templates.md``.

Charts (SVG from :mod:`reportgen.charts`) are built here, with the publication's translated labels, and inlined as
``data:`` URIs; identical charts are built once per process (cache keyed by a hash of their inputs).

Links are relative, so the output folder works from disk and from any web server: ``root`` leads from the page
back to the output folder (``"../"`` from ``fr/synthesis.html``, ``"../../"`` from ``fr/countries/NGA.html``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import atomic, charts
from .aggregate import (
    Figures,
    annex_actions,
    country_figures,
    mean_rating,
    per_table,
    rated_actions,
    rating_summary_columns,
    region_figures,
    regional_actions,
    regional_committed,
    upper_scores,
)
from .assets import image_url
from .charts import others_count
from .errors import ReportgenError
from .i18n import N_, gettext_for, language_name
from .markdown import render_markdown
from .model import CRITERIA, Dataset, Doc, Term, is_missing, notice_of
from .typography import Verbatim


@dataclass(frozen=True)
class RenderSettings:
    """What a build decides about a publication beyond the data (all fields have defaults).

    data_date: the date of the data shown in the data notes, ``YYYY-MM`` or ``YYYY-MM-DD``; empty means the
        evaluation's ``published`` month (config ``data_date``).
    pdf_variant: ``pdf/ua-1`` or ``pdf/a-3u`` (config ``pdf_variant``); a PDF/A publication says that its own data
        is attached to it.
    public_url: where the output folder is published (config ``public_url``); empty when unknown. Shown in the
        colophon so a printed copy says where the web version lives.
    max_annex_rows: the synthesis lists all actions in an annex when there are at most this many; otherwise its
        annex lists this many of the largest and points to the data workbook.
    max_country_actions: rows of a country brief's actions table; the rest are counted and pointed to the workbook.
    max_region_countries: rows of a regional brief's countries table (the largest, in their order); the rest are
        counted and pointed to the workbook.
    top_countries: rows of the synthesis's table of the largest countries.
    max_region_sections: the synthesis's chapter on the regions gives each region a short section of its own when
        there are at most this many regions; with more, it gives each region one row of a table (its countries,
        actions, mean score, largest country and a link to its brief), which keeps the synthesis near its page
        budget (58 regions took 8 pages as sections, under 2 as rows).
    compact_recommendations: the synthesis sets its recommendations closer together when there are more than this
        many (two lines each instead of three: 78 recommendations took 5 pages, 3.5 set closer).
    top_partners: rows of the partners tables (the rest are summed in an "other partners" row).
    workbook: path of the data workbook, relative to the output folder.
    narrative_images: the dataset's published images (paths relative to its ``assets/`` folder, as
        :func:`reportgen.assets.dataset_images` decides): a narrative image ``assets/map.png`` shows from
        ``{root}assets/data/map.png`` when ``map.png`` is one of them, else as its text alternative. Empty (the
        default): narrative images show their text alternative only.
    languages: the languages the build publishes (config ``languages`` within the evaluation's); a publication
        links its versions in these only (``links.languages``), so a build of fewer languages links no page it
        does not publish. Empty (the default): every language of the evaluation.
    """

    data_date: str = ""
    pdf_variant: str = "pdf/ua-1"
    public_url: str = ""
    max_annex_rows: int = 80
    # 25 rows overran the two pages of a country brief on a real-sized dataset (bench/check_layout.py: five briefs
    # of 25 actions took three pages); 18 was the most that kept them to two, 15 leaves room for longer titles.
    max_country_actions: int = 15
    max_region_countries: int = 30
    top_countries: int = 10
    max_region_sections: int = 12
    compact_recommendations: int = 20
    top_partners: int = 10
    workbook: str = "data/figures.xlsx"
    narrative_images: frozenset[str] = frozenset()
    languages: tuple[str, ...] = ()


# Message ids translated in context (chart labels, names of codes). Marked with N_ for extraction.


PRIORITY_LABELS = {"high": N_("high priority"), "medium": N_("medium priority"), "low": N_("low priority")}
TREND_LABELS = {"up": N_("rising"), "down": N_("falling"), "flat": N_("stable")}
OTHER_PARTNERS = N_("other partners")
NOT_GIVEN = N_("not given")

# How a heading of the synthesis narrative says which section its text belongs to (see docs/templates.md).
_NARRATIVE_SLOTS = (
    ("method", re.compile(r"^(m[ée]thod|limit)", re.I)),
    ("context", re.compile(r"^(context)", re.I)),
    ("conclusions", re.compile(r"^conclusion", re.I)),
)


def build_context(doc: Doc, ds: Dataset, figures: Figures, *, settings: RenderSettings) -> dict:
    """The context of ``doc`` (see docs/templates.md for every key)."""
    if doc.lang not in ds.evaluation.languages:
        raise ReportgenError(f"{doc.key}: language {doc.lang!r} is not declared in evaluation.yaml "
                             f"(it declares {list(ds.evaluation.languages)})")
    b = _Builder(doc, ds, figures, settings)
    ctx = b.common()
    if doc.kind == "synthesis":
        ctx.update(b.synthesis())
    elif doc.kind == "region":
        ctx.update(b.region())
    elif doc.kind == "country":
        ctx.update(b.country())
    else:  # pragma: no cover - Doc.kind is a Literal
        raise ReportgenError(f"unknown publication kind {doc.kind!r}")
    return ctx


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------

def _num(value: Any) -> float | None:
    """A float, or None for NA/NaN."""
    if is_missing(value):
        return None
    v = float(value)
    return None if math.isnan(v) else v


#: Shares (0..1) are carried to this many decimals, 0.0001 %: more than a publication prints (templates print a share
#: with ``|share`` or ``|percent``, one decimal of a percent by default), and few enough that an edit which moves every
#: share by a hair leaves alone the contexts it does not otherwise touch. Any amount changes the total, so any amount
#: changed every country's and region's share; the HTML of every brief was then made again only to be found the same
#: (a brief's HTML is read back from the published file when its context is unchanged: ``Worker.html_inputs``).
SHARE_DECIMALS = 6


def _share(value: Any) -> float | None:
    """A share to :data:`SHARE_DECIMALS` decimals; None for NA/NaN. A share too small for them keeps its value, so
    that it still reads "< 0.1 %", never "0.0 %"."""
    v = _num(value)
    if not v:
        return v
    rounded = round(v, SHARE_DECIMALS)
    return rounded if rounded else v


def _int(value: Any) -> int | None:
    v = _num(value)
    return None if v is None else int(v)


def _text(value: Any) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def _root(doc: Doc) -> str:
    return "../" if doc.kind == "synthesis" else "../../"


def href_of(target: Doc, *, frm: Doc) -> str:
    """Relative link from the page of ``frm`` to the page of ``target``."""
    return f"{_root(frm)}{target.stem}.html"


def split_narrative(markdown: str) -> dict[str, list[tuple[str | None, str]]]:
    """Split the synthesis narrative at its highest-level headings into the sections it feeds.

    Returns ``{"notice": [...], "method": [...], "context": [...], "conclusions": [...]}``; each a list of
    (heading or None, Markdown body). Text before the first heading is the notice on the data (the cover and the
    data notes show it). A part goes to the section its heading names (``Context``/``Contexte``,
    ``Method``/``Méthode``/``Limits``/``Limites``, ``Conclusions``) with its heading dropped; any other part goes to
    the context section with its own heading.
    """
    lines = markdown.replace("\r\n", "\n").split("\n")
    levels = [len(m.group(1)) for line in lines if (m := re.match(r"^(#{1,6})\s+\S", line))]
    out: dict[str, list[tuple[str | None, str]]] = {"notice": [], "method": [], "context": [], "conclusions": []}
    if not levels:
        if markdown.strip():
            out["context"].append((None, markdown.strip()))
        return out
    top = min(levels)
    head_re = re.compile(rf"^#{{{top}}}\s+(.*?)\s*#*\s*$")
    parts: list[tuple[str | None, list[str]]] = [(None, [])]
    fence = False
    for line in lines:
        if re.match(r"^\s*(```|~~~)", line):
            fence = not fence
        m = None if fence else head_re.match(line)
        if m:
            parts.append((m.group(1), []))
        else:
            parts[-1][1].append(line)
    for heading, body_lines in parts:
        body = "\n".join(body_lines).strip()
        if heading is None:
            if body:
                out["notice"].append((None, body))
            continue
        slot = next((name for name, rx in _NARRATIVE_SLOTS if rx.match(heading.strip())), None)
        if slot:
            if body:
                out[slot].append((None, body))
        else:
            out["context"].append((heading, body))
    return out


_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_ATX = re.compile(r"^( {0,3})(#{1,6})(?=\s|$)")


def normalise_headings(markdown: str) -> str:
    """Shift ATX headings so the highest one is ``#`` (rendered as h3): no level is skipped under an h2."""
    lines = markdown.split("\n")
    fence = False
    levels = []
    for line in lines:
        if _FENCE.match(line):
            fence = not fence
        elif not fence and (m := _ATX.match(line)):
            levels.append(len(m.group(2)))
    if not levels or min(levels) == 1:
        return markdown
    shift = min(levels) - 1
    out = []
    fence = False
    for line in lines:
        if _FENCE.match(line):
            fence = not fence
        elif not fence and (m := _ATX.match(line)):
            line = m.group(1) + "#" * (len(m.group(2)) - shift) + line[m.end():]
        out.append(line)
    return "\n".join(out)


# Charts: built once per process for identical inputs and, when the build gives a folder (set_chart_store), kept on
# disk from one build to the next: an incremental rebuild renders the context of every publication to find the ones
# that changed, and drawing the charts of the unchanged ones again with matplotlib was a third of that work.
_CHART_CACHE: dict[str, bytes] = {}
_CHART_CACHE_MAX = 512
_CHART_STORE: list[Path | None] = [None]


def set_chart_store(folder: Path | None) -> None:
    """Keep charts in ``folder`` (``{output}/.reportgen/charts``) across builds; None: in memory only."""
    _CHART_STORE[0] = Path(folder) if folder else None


def chart_svg(function: str, **inputs: Any) -> bytes:
    """SVG bytes of ``reportgen.charts.<function>(**inputs)``, cached by a hash of the inputs and of the chart code
    (charts.py, matplotlib's version, the fonts): another version never reads a stale chart."""
    # Keyword arguments sorted by name; values keep their order (the order of series is part of the chart).
    key = hashlib.sha256(json.dumps([charts.code_version(), function, sorted(inputs.items())],
                                    default=str).encode()).hexdigest()
    svg = _CHART_CACHE.get(key)
    if svg is not None:
        return svg
    store = _CHART_STORE[0]
    path = store / key[:2] / f"{key}.svg" if store is not None else None
    if path is not None:
        try:
            svg = path.read_bytes()
            os.utime(path)  # used by this build: kept by the clean-up of the index stage
        except OSError:
            svg = None
        if svg is not None and not svg.lstrip().startswith(b"<svg"):  # not one of ours: drawn again
            svg = None
    if svg is None:
        result = getattr(charts, function)(**inputs)
        svg = result.encode("utf-8") if isinstance(result, str) else bytes(result)
        if path is not None:
            try:
                atomic.write_bytes(path, svg, durable=False)
            except ReportgenError:
                pass  # a cache: the chart is in the publication either way
    if len(_CHART_CACHE) >= _CHART_CACHE_MAX:
        _CHART_CACHE.pop(next(iter(_CHART_CACHE)))
    _CHART_CACHE[key] = svg
    return svg


def data_uri(svg: bytes) -> Verbatim:
    return Verbatim("data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"))


@lru_cache(maxsize=8)
def _cached_gettext(lang: str) -> Callable[[str], str]:
    return gettext_for(lang)


@dataclass(frozen=True)
class _Lookups:
    """Names and the briefs that exist, for one dataset and language: computed once, not once per publication
    (on a 20,000-action dataset, once per publication cost 40 ms each)."""

    region_names: dict[str, str]
    country_names: dict[str, str]
    country_region: dict[str, str]
    region_briefs: frozenset[str]  # a region / a country with at least one action (as the build plans them)
    country_briefs: frozenset[str]


_LOOKUPS: dict[tuple[int, str], tuple[Dataset, _Lookups]] = {}


def _lookups(ds: Dataset, lang: str) -> _Lookups:
    hit = _LOOKUPS.get((id(ds), lang))
    if hit is not None and hit[0] is ds:
        return hit[1]
    name_col = f"name_{lang}"
    regions, countries = ds.brief_scopes()
    lookups = _Lookups(
        region_names=dict(zip(ds.regions["region"].astype(str), ds.regions[name_col].astype(str))),
        country_names=dict(zip(ds.countries["country"].astype(str), ds.countries[name_col].astype(str))),
        country_region=dict(zip(ds.countries["country"].astype(str), ds.countries["region"].astype(str))),
        region_briefs=frozenset(regions),
        country_briefs=frozenset(countries),
    )
    if len(_LOOKUPS) >= 8:  # a long-lived process (live preview) sees a new dataset at each edit
        _LOOKUPS.clear()
    _LOOKUPS[(id(ds), lang)] = (ds, lookups)
    return lookups


# ----------------------------------------------------------------------------------------------------------------
# The builder
# ----------------------------------------------------------------------------------------------------------------

class _Builder:
    def __init__(self, doc: Doc, ds: Dataset, figures: Figures, settings: RenderSettings):
        self.doc = doc
        self.ds = ds
        self.fig = figures
        self.s = settings
        self.lang = doc.lang
        self.ev = ds.evaluation
        self.data_lang = self.ev.languages[0]
        self.gettext = _cached_gettext(doc.lang)
        self.root = _root(doc)
        lookups = _lookups(ds, self.lang)
        self.region_names = lookups.region_names
        self.country_names = lookups.country_names
        self.country_region = lookups.country_region
        self.region_briefs = lookups.region_briefs
        self.country_briefs = lookups.country_briefs
        self.labels = self._labels()

    # -- text ---------------------------------------------------------------------------------------------------

    def _(self, message: str) -> str:
        return self.gettext(message)

    def _labels(self) -> dict:
        t = self._
        ev, lang = self.ev, self.lang

        def label(term: Term) -> str:
            return term.label.get(lang) or term.code

        return {
            "channel": {term.code: label(term) for term in ev.channels},
            "theme": {term.code: label(term) for term in ev.themes},
            "criterion": {term.code: label(term) for term in ev.criteria},
            "priority": {k: t(v) for k, v in PRIORITY_LABELS.items()},
            "trend": {k: t(v) for k, v in TREND_LABELS.items()},
            "score": {s: (f"{s} {ev.scale.labels[s][lang]}" if lang in ev.scale.labels.get(s, {}) else str(s))
                      for s in ev.scale.scores},
            "other_partners": t(OTHER_PARTNERS),
            "not_given": t(NOT_GIVEN),
        }

    def region_name(self, code: str) -> str:
        return self.region_names.get(code, code)

    def country_name(self, code: str) -> str:
        return self.country_names.get(code, code)

    def markdown(self, text: str):
        """Narrative Markdown → safe HTML whose highest heading is an h3 (under the page's h2 sections)."""
        return render_markdown(normalise_headings(text), self.lang, resolve_asset=self.resolve_asset)

    def resolve_asset(self, path: str) -> str | None:
        """URL of a narrative image ``assets/…`` as published with the page, or None (its alt text is shown)."""
        return image_url(path, self.s.narrative_images, self.root)

    def narrative(self, kind: str, code: str | None):
        text = self.ds.narratives.get((self.lang, kind, code))
        return self.markdown(text) if text and text.strip() else None

    # -- links --------------------------------------------------------------------------------------------------

    def link(self, kind: str, code: str | None = None, lang: str | None = None) -> Verbatim | None:
        """Relative link to a publication, or None when it is not published."""
        if kind == "region" and code not in self.region_briefs:
            return None
        if kind == "country" and code not in self.country_briefs:
            return None
        target = Doc(lang or self.lang, kind, code)  # type: ignore[arg-type]
        return Verbatim(href_of(target, frm=self.doc))

    # -- common -------------------------------------------------------------------------------------------------

    def common(self) -> dict:
        doc, ev, lang = self.doc, self.ev, self.lang
        data_date = self.s.data_date or ev.published
        other = []
        for other_lang in ev.languages:
            if other_lang == lang or (self.s.languages and other_lang not in self.s.languages):
                continue
            other.append({
                "lang": other_lang,
                "label": language_name(other_lang),
                "href": Verbatim(href_of(Doc(other_lang, doc.kind, doc.code), frm=doc)),
            })
        series = self._("Evaluation no. %(number)s") % {"number": ev.id}
        scale = ev.scale

        def scale_label(score: int) -> str:
            return scale.labels.get(score, {}).get(lang, "")

        vocabulary = {
            "themes": [{"code": term.code, "label": term.label.get(lang) or term.code,
                        "description": term.description.get(lang, "")} for term in ev.themes],
            "themes_title": ev.themes_title.get(lang, "") or self._("Themes"),
            "criteria": [{"code": term.code, "label": term.label.get(lang) or term.code,
                          "definition": term.description.get(lang, "")} for term in ev.criteria],
            "dac_criteria": ev.criterion_codes == CRITERIA,
            "channels": [{"code": term.code, "label": term.label.get(lang) or term.code,
                          "description": term.description.get(lang, "")} for term in ev.channels],
            "scale": {"min": scale.minimum, "max": scale.maximum, "min_label": scale_label(scale.minimum),
                      "max_label": scale_label(scale.maximum),
                      "labels": [{"score": s, "label": scale_label(s)} for s in scale.scores],
                      "labelled": all(scale_label(s) for s in scale.scores),
                      "upper": [{"score": s, "label": scale_label(s)} for s in upper_scores(ev)]},
            "funder": ev.funder.get(lang, ""),
        }
        return {
            "lang": lang,
            "kind": doc.kind,
            "code": doc.code or "",
            "data_lang": self.data_lang,
            "currency": ev.currency,
            "root": Verbatim(self.root),
            "stylesheet": Verbatim(f"{self.root}assets/css/{doc.kind}.css"),
            "series": series,
            "evaluation": {
                "id": ev.id,
                "title": ev.title.get(lang, ""),
                "subtitle": (ev.subtitle or {}).get(lang, ""),
                "commissioner": ev.commissioner.get(lang, ""),
                "evaluator": ev.evaluator,
                "published": ev.published,
                "period_start": int(ev.period_start),
                "period_end": int(ev.period_end),
                "languages": list(ev.languages),
            },
            "data_date": data_date,
            "pdf_variant": self.s.pdf_variant,
            "public_url": Verbatim(self.s.public_url),
            "notice": notice_of(ev, lang),
            "labels": self.labels,
            "vocabulary": vocabulary,
            "links": {
                "index": Verbatim(f"{self.root}{lang}/index.html"),
                "synthesis": Verbatim(href_of(Doc(lang, "synthesis"), frm=doc)),
                "workbook": Verbatim(self.root + self.s.workbook),
                "data": Verbatim(f"{self.root}{lang}/index.html#data"),
                "languages": other,
            },
        }

    # -- tables shared by the kinds -----------------------------------------------------------------------------

    def year_rows(self, by_year: pd.DataFrame) -> list[dict]:
        return [{"year": int(r.year), "committed": _num(r.committed), "actions": int(r.actions)}
                for r in by_year.itertuples(index=False)]

    def year_channel(self, table: pd.DataFrame) -> dict:
        CHANNELS = self.ev.channel_codes  # noqa: N806
        years = sorted({int(y) for y in table["year"]})
        # A cell whose actions all lack an amount is None ("–", not reported), never 0; sums add the known ones.
        grid = {(int(r.year), str(r.channel)): (_num(r.committed), int(r.actions))
                for r in table.itertuples(index=False)}
        rows = []
        for y in years:
            cells = [grid.get((y, c), (0.0, 0)) for c in CHANNELS]
            values = [v for v, _ in cells]
            rows.append({"year": y, "amounts": values, "total": _known_sum(cells),
                         "actions": sum(n for _, n in cells)})
        totals = [_known_sum([grid.get((y, c), (0.0, 0)) for y in years]) for c in CHANNELS]
        return {
            "channels": [{"code": c, "label": self.labels["channel"][c]} for c in CHANNELS],
            "rows": rows,
            "totals": totals,
            "total": _known_sum([(r["total"], r["actions"]) for r in rows]),
            "actions": sum(r["actions"] for r in rows),
        }

    def partner_rows(self, table: pd.DataFrame, total: float) -> dict:
        top = self.s.top_partners
        rows = [{"partner": str(r.partner), "committed": _num(r.committed), "actions": int(r.actions),
                 "share": _share(r.share)} for r in table.itertuples(index=False)]
        shown, rest = rows[:top], rows[top:]
        other = None
        if rest:
            committed = sum(r["committed"] or 0.0 for r in rest)
            other = {"partners": len(rest), "committed": committed, "actions": sum(r["actions"] for r in rest),
                     "share": _share(committed / total) if total else 0.0}
        return {"rows": shown, "other": other, "count": len(rows)}

    def theme_rows(self, table: pd.DataFrame) -> list[dict]:
        return [{"theme": str(r.theme), "label": self.labels["theme"].get(str(r.theme), str(r.theme)),
                 "committed": _num(r.committed), "actions": int(r.actions), "share": _share(r.share)}
                for r in table.itertuples(index=False)]

    def rating_rows(self, table: pd.DataFrame) -> dict:
        rows = []
        best = worst = None
        scores_of = self.ev.scale.scores
        # One row at a time as a dict (DataFrame.to_dict("records") costs milliseconds per small table).
        columns = rating_summary_columns(table, self.ev)
        for r in (dict(zip(columns, values)) for values in zip(*columns.values())):
            n = int(r["n"])
            row = {"criterion": str(r["criterion"]),
                   "label": self.labels["criterion"].get(str(r["criterion"]), str(r["criterion"])),
                   "mean": _num(r["mean"]) if n else None, "n": n,
                   "scores": [int(r[f"score_{s}"]) for s in scores_of],
                   "satisfactory": _num(r["upper_share"]) if n else None}
            rows.append(row)
            best = row if r["best"] else best
            worst = row if r["worst"] else worst
        return {"rows": rows, "rated": best is not None, "best": best, "worst": worst,
                "max_n": max((r["n"] for r in rows), default=0), "mean": mean_rating(table)}

    def action_rows(self, actions: pd.DataFrame, positions: np.ndarray | None = None) -> list[dict]:
        """The rows of ``actions``; ``positions``: theirs in Dataset.actions, when ``actions`` are its rows there
        (ScopeFigures.action_positions), read from the table's rows made once (a slice's own ``itertuples`` was a
        tenth of a country brief's context)."""
        if positions is not None:
            every = per_table(self.ds.actions, "action rows", lambda t: list(t.itertuples(index=False)))
            records = [every[i] for i in positions.tolist()]
        else:
            records = list(actions.itertuples(index=False))
        rows = []
        for r in records:
            country = _text(r.country)
            region = _text(r.region)
            rows.append({
                "action_id": str(r.action_id),
                **self.in_language(r, "title"),
                "year": int(r.year),
                "country": country,
                "country_name": self.country_name(country) if country else "",
                "region": region,
                "region_name": self.region_name(region) if region else "",
                "channel": str(r.channel),
                "channel_label": self.labels["channel"].get(str(r.channel), str(r.channel)),
                "instrument": _text(r.instrument),
                "partner": _text(r.partner),
                "themes": [p for p in _text(r.themes).split(";") if p],
                "theme_labels": [self.labels["theme"].get(p, p) for p in _text(r.themes).split(";") if p],
                "committed": _num(r.committed),
                "disbursed": _num(r.disbursed),
            })
        return rows

    def recommendations(self, scopes: set[str] | None) -> list[dict]:
        rec = self.ds.recommendations
        if rec is None or rec.empty:
            return []
        text_col = f"text_{self.lang}"
        rows = []
        for r in per_table(rec, "recommendation rows", lambda t: list(t.itertuples(index=False))):
            scope = str(r.scope)
            if scopes is not None and scope not in scopes:
                continue
            kind = str(r.scope_kind)
            if kind == "region":
                scope_name = self.region_name(scope)
            elif kind == "country":
                scope_name = self.country_name(scope)
            else:
                scope_name = ""
            rows.append({
                "rec_id": str(r.rec_id),
                "anchor": Verbatim("rec-" + re.sub(r"[^A-Za-z0-9_-]", "-", str(r.rec_id))),
                "text": _text(getattr(r, text_col)),
                "addressee": _text(r.addressee),
                "priority": str(r.priority),
                "priority_label": self.labels["priority"].get(str(r.priority), str(r.priority)),
                "scope": scope,
                "scope_kind": kind,
                "scope_name": scope_name,
                "scope_href": self.link(kind, scope) if kind in ("region", "country") else None,
            })
        order = {"global": 0, "region": 1, "country": 2}
        rows.sort(key=lambda r: (order.get(r["scope_kind"], 3), _natural(r["rec_id"])))
        return rows

    def data_note(self, totals, regional_actions: int | None, scoped: pd.DataFrame,
                  positions: np.ndarray | None = None) -> dict:
        """Facts the data note states (its sentences are in the template); ``scoped``: the publication's actions
        (``positions``: theirs in Dataset.actions, when known)."""
        ds = self.ds
        scope_kind = self.doc.kind
        rated = rated_actions(ds, scoped, positions)
        # The data tables read (narrative texts and images are not sources of figures).
        files = sorted(f.rsplit("/", 1)[-1] for f in ds.source_files if "/" not in f.strip("/"))
        sources = []
        if scope_kind == "country" and ds.indicators is not None and len(ds.indicators):
            sources = sorted(per_table(ds.indicators, "indicator sources by country", _sources_by_country)
                             .get(self.doc.code, ()))
        return {
            "date": self.s.data_date or self.ev.published,
            "files": files,
            "indicator_sources": sources,
            "actions": int(totals.actions),
            "actions_without_amount": int(totals.actions_without_amount),
            "disbursed": _num(totals.disbursed),
            "regional_actions": regional_actions,
            "rated_actions": rated,
            "dataset_rated": ds.ratings is not None and len(ds.ratings) > 0,
            "notice": self.notice_parts,
            "pdf_attachment": self.s.pdf_variant.startswith("pdf/a-3"),
        }

    @property
    def notice_parts(self):
        """The dataset's own notice on its data: the synthesis narrative's text before its first heading."""
        text = self.ds.narratives.get((self.lang, "synthesis", None)) or ""
        parts = split_narrative(text)["notice"]
        return self.markdown("\n\n".join(body for _, body in parts)) if parts else None

    def key_series(self, by_year: pd.DataFrame) -> dict:
        """Summary of a by-year series for the chart's text alternative. A year whose actions all lack an amount
        is not a zero: the series runs from the first to the last year with a known amount (a year without
        actions is a true zero), and ``unreported`` says that no year has one although some have actions."""
        rows = [(int(r.year), None if _num(r.committed) is None and int(r.actions) else _num(r.committed) or 0.0)
                for r in by_year.itertuples(index=False)]
        known = [(y, v) for y, v in rows if v is not None]
        unreported = len(known) < len(rows) and all(v == 0 for _, v in known)
        if not known or unreported:
            return {"first_year": None, "first": None, "last_year": None, "last": None, "max_year": None,
                    "max": None, "total": 0.0, "empty": True, "unreported": unreported}
        max_year, max_value = max(known, key=lambda p: (p[1], -p[0]))
        return {"first_year": known[0][0], "first": known[0][1], "last_year": known[-1][0], "last": known[-1][1],
                "max_year": max_year, "max": max_value, "total": sum(v for _, v in known),
                "empty": all(v == 0 for _, v in known), "unreported": False}

    # -- charts -------------------------------------------------------------------------------------------------

    def chart(self, function: str, **inputs: Any) -> dict:
        """A chart's data URI, and ``empty``: no bar to draw (every amount is zero or not reported), in which case
        the templates say so in a sentence instead of showing an empty chart (macros/figures.html.j2)."""
        amounts = list(inputs.get("values", ()))
        for series in (inputs.get("series") or {}).values():
            amounts += list(series)
        if not any(v for v in amounts if v is not None and v == v):  # v == v: not NaN
            return {"uri": "", "empty": True}
        svg = chart_svg(function, **inputs)
        return {"uri": data_uri(svg), "empty": False}

    # -- synthesis ----------------------------------------------------------------------------------------------

    def synthesis(self) -> dict:
        fig, ds = self.fig, self.ds
        t = fig.totals
        total = _num(t.committed) or 0.0
        yc = self.year_channel(fig.by_year_channel)
        regions = []
        for r in fig.by_region.itertuples(index=False):
            code = str(r.region)
            sf = region_figures(ds, fig, code)
            top = []
            if sf.countries is not None:
                for c in sf.countries.head(3).itertuples(index=False):
                    top.append({"code": str(c.country), "name": self.country_name(str(c.country)),
                                "committed": _num(c.committed), "share_of_region": _share(c.share_of_region)})
            regions.append({
                "code": code,
                "anchor": Verbatim("region-" + code),
                "name": self.region_name(code),
                "committed": _num(r.committed),
                "share": _share(r.share),
                "actions": int(r.actions),
                "countries": int(r.countries),
                "actions_without_amount": int(r.actions_without_amount),
                "regional_actions": int(sf.regional_actions),
                "rank": sf.rank,
                "top_countries": top,
                "href": self.link("region", code),
                "mean_rating": mean_rating(sf.ratings),
            })
        countries = []
        for r in fig.by_country.head(self.s.top_countries).itertuples(index=False):
            code = str(r.country)
            countries.append({
                "code": code, "name": self.country_name(code), "region": str(r.region),
                "region_name": self.region_name(str(r.region)), "committed": _num(r.committed),
                "share": _share(r.share), "rank": int(r.rank), "actions": int(r.actions),
                "href": self.link("country", code),
            })
        instruments = [{"instrument": str(r.instrument), "committed": _num(r.committed), "actions": int(r.actions)}
                       for r in fig.by_instrument.itertuples(index=False)]
        channels = [{"channel": str(r.channel), "label": self.labels["channel"].get(str(r.channel), str(r.channel)),
                     "committed": _num(r.committed), "actions": int(r.actions), "share": _share(r.share)}
                    for r in fig.by_channel.itertuples(index=False)]
        partners = self.partner_rows(fig.by_partner, total)
        themes = self.theme_rows(fig.by_theme)
        ratings = self.rating_rows(fig.ratings)

        # Annex: every action when few, else the largest, in year order.
        actions, n_actions, truncated = annex_actions(ds, self.s.max_annex_rows)
        annex = {"rows": self.action_rows(actions), "total": n_actions, "shown": len(actions),
                 "truncated": truncated}

        narrative = self.ds.narratives.get((self.lang, "synthesis", None)) or ""
        parts = split_narrative(narrative)
        narr = {slot: [{"heading": h, "html": self.markdown(body) if body else None} for h, body in items]
                for slot, items in parts.items() if slot != "notice"}

        codes = sorted(self.country_briefs | set(fig.by_country["country"].astype(str)))
        country_codes = [{"code": c, "name": self.country_name(c), "href": self.link("country", c)} for c in codes]

        no_amount_regions = [r for r in regions if r["actions_without_amount"]]
        regional_total = regional_actions(ds)

        by_year = fig.by_year
        lbl = self.labels
        partner_bars = self.s.top_partners + 1  # the table's rows and its "other partners" row
        charts = {
            "year_channel": {**self.chart(
                "stacked_bar_svg",
                categories=[str(r["year"]) for r in yc["rows"]],
                series={_cap(lbl["channel"][c]): [r["amounts"][i] for r in yc["rows"]]
                        for i, c in enumerate(self.ev.channel_codes)},
                currency=self.ev.currency, lang=self.lang),
                "summary": self.key_series(by_year)},
            "regions": {**self.chart(
                "hbar_svg",
                labels=[r["name"] for r in regions], values=[r["committed"] or 0.0 for r in regions],
                currency=self.ev.currency, lang=self.lang, others=self._("Other regions (%(num)s)")),
                "top": regions[0] if regions else None,
                "others": others_count(len(regions))},
            # Every partner, as the table adds them up: the table's rows keep their bar and the others make one
            # last bar, like the table's "other partners" row (at most MAX_BARS bars when top_partners is larger).
            "partners": {**self.chart(
                "hbar_svg",
                labels=[str(r.partner) for r in fig.by_partner.itertuples(index=False)],
                values=[_num(r.committed) or 0.0 for r in fig.by_partner.itertuples(index=False)],
                currency=self.ev.currency, lang=self.lang, others=self._("Other partners (%(num)s)"),
                max_bars=partner_bars),
                "top": partners["rows"][0] if partners["rows"] else None,
                "others": others_count(partners["count"], partner_bars)},
        }
        if themes:
            charts["themes"] = {**self.chart(
                "hbar_svg",
                labels=[_cap(p["label"]) for p in themes], values=[p["committed"] or 0.0 for p in themes],
                currency=self.ev.currency, lang=self.lang, others=self._("Other themes (%(num)s)")),
                "top": max(themes, key=lambda p: p["committed"] or 0.0),
                "others": others_count(len(themes))}
        data_note = self.data_note(t, regional_total, ds.actions)
        recommendations = self.recommendations(None)
        return {
            "doc_title": self.ev.title.get(self.lang, ""),
            "running_title": self.ev.title.get(self.lang, ""),
            "description": self._("Synthesis of evaluation no. %(number)s: %(title)s") % {
                "number": self.ev.id, "title": self.ev.title.get(self.lang, "")},
            "totals": _totals(t),
            "year_channel": yc,
            "channels": channels,
            "instruments": instruments,
            "regions": regions,
            "top_countries": countries,
            "countries_count": int(t.countries),
            "partners": partners,
            "themes": themes,
            "ratings": ratings,
            "recommendations": recommendations,
            "compact_recommendations": len(recommendations) > self.s.compact_recommendations,
            "region_table": len(regions) > self.s.max_region_sections,
            "annex": annex,
            "narrative": narr,
            "country_codes": country_codes,
            "no_amount_regions": no_amount_regions,
            "charts": charts,
            "data_note": data_note,
        }

    # -- region -------------------------------------------------------------------------------------------------

    def region(self) -> dict:
        code = self.doc.code
        assert code is not None
        ds, fig = self.ds, self.fig
        sf = region_figures(ds, fig, code)
        name = self.region_name(code)
        t = sf.totals
        countries = []
        if sf.countries is not None:
            for c in sf.countries.itertuples(index=False):
                cc = str(c.country)
                countries.append({"code": cc, "name": self.country_name(cc), "committed": _num(c.committed),
                                  "actions": int(c.actions), "share": _share(c.share), "rank": _int(c.rank),
                                  "share_of_region": _share(c.share_of_region), "href": self.link("country", cc)})
        known = [c["committed"] for c in countries if c["committed"] is not None]
        countries_committed = float(sum(known)) if known else None
        limit = self.s.max_region_countries
        if len(countries) > limit:  # the largest, in their order; the rest are in the data workbook
            largest = set(sorted(range(len(countries)), key=lambda i: -(countries[i]["committed"] or 0.0))[:limit])
            countries_more = len(countries) - limit
            countries = [c for i, c in enumerate(countries) if i in largest]
        else:
            countries_more = 0
        members = set(ds.countries.loc[ds.countries["region"].astype(str) == code, "country"].astype(str))
        partners = self.partner_rows(sf.by_partner, _num(t.committed) or 0.0)
        themes = self.theme_rows(sf.by_theme)
        years = self.year_rows(sf.by_year)
        charts = {
            "by_year": {**self.chart(
                "bar_chart_svg", categories=[str(r["year"]) for r in years],
                values=[r["committed"] or 0.0 for r in years], currency=self.ev.currency, lang=self.lang),
                "summary": self.key_series(sf.by_year)},
        }
        title = name
        return {
            "doc_title": self._("%(region)s: regional brief") % {"region": name},
            "running_title": self._("%(region)s: regional brief") % {"region": name},
            "description": self._("Regional brief of evaluation no. %(number)s (%(title)s): %(region)s") % {
                "number": self.ev.id, "title": self.ev.title.get(self.lang, ""), "region": name},
            "region": {"code": code, "name": title},
            "totals": _totals(t),
            "share": _share(sf.share),
            "rank": sf.rank,
            "of": sf.of,
            "countries": countries,
            "countries_more": countries_more,
            "countries_committed": countries_committed,
            "regional_actions": int(sf.regional_actions),
            "regional_committed": regional_committed(sf),
            "by_year": years,
            "year_channel": self.year_channel(sf.by_year_channel),
            "partners": partners,
            "themes": themes,
            "ratings": self.rating_rows(sf.ratings),
            "narrative": self.narrative("region", code),
            "recommendations": self.recommendations({code, *members}),
            "charts": charts,
            "data_note": self.data_note(t, int(sf.regional_actions), sf.actions, sf.action_positions),
        }

    # -- country ------------------------------------------------------------------------------------------------

    def country(self) -> dict:
        code = self.doc.code
        assert code is not None
        ds, fig = self.ds, self.fig
        sf = country_figures(ds, fig, code)
        name = self.country_name(code)
        region = self.country_region.get(code, "")
        t = sf.totals
        rows = self.action_rows(sf.actions, sf.action_positions)
        limit = self.s.max_country_actions
        years = self.year_rows(sf.by_year)
        indicators = []
        if sf.indicators is not None:
            declared = self.ev.indicators or {}
            for r in sf.indicators.itertuples(index=False):
                ind = declared.get(str(r.indicator))
                label = ind.label.get(self.lang, str(r.indicator)) if ind else str(r.indicator)
                trend = r.trend if isinstance(r.trend, str) else None
                indicators.append({
                    "indicator": str(r.indicator), "label": label, "unit": _text(r.unit),
                    "year_first": _int(r.year_first), "value_first": _num(r.value_first),
                    "year_latest": _int(r.year_latest), "value_latest": _num(r.value_latest),
                    "trend": trend, "trend_label": self.labels["trend"].get(trend, "") if trend else "",
                    "source": _text(r.source),
                })
        charts = {
            "by_year": {**self.chart(
                "bar_chart_svg", categories=[str(r["year"]) for r in years],
                values=[r["committed"] or 0.0 for r in years], currency=self.ev.currency, lang=self.lang,
                small=True),
                "summary": self.key_series(sf.by_year)},
        }
        return {
            "doc_title": self._("%(country)s: country brief") % {"country": name},
            "running_title": self._("%(country)s: country brief") % {"country": name},
            "description": self._("Country brief of evaluation no. %(number)s (%(title)s): %(country)s") % {
                "number": self.ev.id, "title": self.ev.title.get(self.lang, ""), "country": name},
            "country": {"code": code, "name": name, "region": region, "region_name": self.region_name(region),
                        "region_href": self.link("region", region)},
            "totals": _totals(t),
            "share": _share(sf.share),
            "rank": sf.rank,
            "of": sf.of,
            "actions": {"rows": rows[:limit], "total": len(rows), "more": max(0, len(rows) - limit)},
            "by_year": years,
            "ratings": self.rating_rows(sf.ratings),
            "comments": self.comments(sf.actions),
            "indicators": indicators,
            "narrative": self.narrative("country", code),
            "recommendations": self.recommendations({code}),
            "charts": charts,
            "data_note": self.data_note(t, None, sf.actions, sf.action_positions),
        }

    def in_language(self, row, column: str, *, key: str | None = None) -> dict:
        """``{key: text, key_lang: its language}``: the row's ``{column}_{lang}`` in the publication's language
        when given (optional columns), else ``column`` in the evaluation's main language."""
        key = key or column
        own = _text(getattr(row, f"{column}_{self.lang}", None))
        if own.strip():
            return {key: own, f"{key}_lang": self.lang}
        return {key: _text(getattr(row, column)), f"{key}_lang": self.data_lang}

    def comments(self, actions: pd.DataFrame, limit: int = 3) -> list[dict]:
        """A few evaluators' comments on the scope's actions (first ones in action order)."""
        ratings = self.ds.ratings
        if ratings is None or ratings.empty or "comment" not in ratings.columns:
            return []
        ids = list(actions["action_id"].astype(str))
        by_action = per_table(ratings, "comments by action", _comments_by_action)
        out = []
        order = {a: i for i, a in enumerate(ids)}
        criteria = {code: i for i, code in enumerate(self.ev.criterion_codes)}
        r = [row for a in order for row in by_action.get(a, ())]
        for row in sorted(r, key=lambda x: (order[str(x.action_id)], criteria.get(str(x.criterion), 9999))):
            text = self.in_language(row, "comment", key="text")
            if text["text"].strip():
                out.append({"action_id": str(row.action_id), "criterion": str(row.criterion),
                            "criterion_label": self.labels["criterion"].get(str(row.criterion), str(row.criterion)),
                            **text, "text": text["text"].strip()})
            if len(out) >= limit:
                break
        return out


def _sources_by_country(indicators: pd.DataFrame) -> dict[str, set[str]]:
    """The sources of the indicators of each country."""
    out: dict[str, set[str]] = {}
    for country, source in zip(indicators["country"].astype(str), indicators["source"]):
        if not is_missing(source):
            out.setdefault(country, set()).add(str(source))
    return out


def _comments_by_action(ratings: pd.DataFrame) -> dict[str, list]:
    """The ratings rows that carry a comment, by action id (as text), in the table's order."""
    out: dict[str, list] = {}
    for row in ratings[ratings["comment"].notna()].itertuples(index=False):
        out.setdefault(str(row.action_id), []).append(row)
    return out


def _known_sum(cells: list[tuple[float | None, int]]) -> float | None:
    """The sum of the known amounts of (amount, actions) cells; None when no action has a known amount (so that
    "not reported" never reads as 0). Cells without actions are true zeros."""
    known = [v for v, n in cells if v is not None and n]
    return float(sum(known)) if known or not any(n for _, n in cells) else None


def _totals(t) -> dict:
    return {"committed": _num(t.committed), "disbursed": _num(t.disbursed), "actions": int(t.actions),
            "actions_without_amount": int(t.actions_without_amount), "countries": int(t.countries),
            "regions": int(t.regions)}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _natural(text: str) -> tuple:
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", text))


# --------------------------------------------------------------------------------------------------------------------
# A context's digest
# --------------------------------------------------------------------------------------------------------------------

class _Opaque(Exception):
    """A value whose content a digest cannot state (not one of the plain types a context is made of)."""


def context_digest(ctx: dict) -> str | None:
    """A digest of everything a template can read from ``ctx``: equal digests mean equal contexts, value for value
    and type for type (``str``, :class:`~markupsafe.Markup` and :class:`Verbatim` differ: they are printed
    differently), in order. None when the context holds a value of another type (nothing is then assumed).

    With the same templates, catalog and code, equal contexts render the same HTML: :meth:`reportgen.worker.Worker.
    page` uses this to take an unchanged publication's HTML from its published file instead of rendering it."""
    from markupsafe import Markup

    tags = {str: "s", Markup: "m", Verbatim: "v"}
    parts: list[str] = []
    add = parts.append

    def walk(o: Any) -> None:
        t = type(o)
        tag = tags.get(t)
        if tag is not None:
            add(f"{tag}{len(o)}:")
            add(o)
        elif t is dict:
            add(f"d{len(o)}:")
            for k, v in o.items():
                walk(k)
                walk(v)
        elif t is list or t is tuple:
            add(f"{'l' if t is list else 't'}{len(o)}:")
            for v in o:
                walk(v)
        elif o is None:
            add("N")
        elif t is bool:
            add("T" if o else "F")
        elif t is int:
            add(f"i{o};")
        elif t is float:
            add(f"f{o!r};")
        else:
            raise _Opaque(t.__name__)

    try:
        walk(ctx)
    except _Opaque:
        return None
    return hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
