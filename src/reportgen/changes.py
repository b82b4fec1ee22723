"""What changed since the previous build: the key figures, recommendations and narratives of every publication.

A *snapshot* records, per publication (``fr/synthesis``, ``en/regions/west-africa``, ``fr/countries/NGA``: see
:attr:`reportgen.model.Doc.key`), what a reviewer proofreads: its key figures as printed (formatted for its
language) and as raw numbers, the texts of the recommendations it shows, the text (and sha256) of its narrative and,
for a country brief, the rows of its actions table. :func:`compare` turns two snapshots into a report: per
publication, the figures whose *printed* value changed (old, new, difference), the actions added, removed or edited
(field by field), the recommendations added, removed or reworded, the narrative paragraphs that changed; the
publications added and removed; the count of unchanged ones. A change below the printed precision (a share that
moves in the third decimal) is not a change a reader can see, and is not reported.

Which publication shows what (the same rules as the templates):

- synthesis: grand totals (committed, actions, actions without amount, countries, regions), committed and actions by
  year, committed and share by channel, committed, actions and share by region, committed by theme, mean rating
  per criterion; every recommendation (global, regional and country ones: it lists them all); its narrative
  ``narrative/{lang}/synthesis.md``.
- regional brief: total committed, actions, actions without amount, countries, share of the evaluation's total, rank
  among regions, committed by year, committed and actions of each of its countries; the recommendations scoped to
  the region or to one of its countries; its narrative.
- country brief: total committed, actions, actions without amount, share, rank among countries, committed by year,
  mean rating per criterion; its actions (year, title, partner, channel, themes, amount committed); the
  recommendations scoped to the country; its narrative.

Build history. :func:`update_changes` (called by the *prepare* stage) keeps two snapshots in the output folder's
hidden state: ``.reportgen/snapshot.json`` (what the last build published) and ``.reportgen/snapshot.previous.json``
(what the build before the last *change* published). When the new snapshot differs from the current one, the
current one becomes the previous one and the report compares the current one with the new one. When it is equal (a
rerun, a change to the code or a template that alters no figure or text), nothing rotates and the report stays the
comparison with the build before the last change, instead of becoming empty. A snapshot is what the output folder
publishes: a build restricted to some languages (config ``languages``) publishes only those, so the publications of
the others are reported as removed (and as added when a later build publishes them again). The report is
written to ``{output}/changes.json`` and ``{output}/changes.html``: deterministic bytes (no clock time, sorted keys),
so an unchanged report leaves both files untouched.

``reportgen diff OLD_DATA NEW_DATA`` (:func:`run_diff`) prints the same report between two dataset folders, without
building any publication: both folders are validated, their figures computed, and the snapshots of the
publications of the *new* evaluation's languages compared; one line per change, prefixed with the publication's
key (``fr/countries/NGA: total committed 1 234 567 € → 1 334 567 € (+100 000 €)``); optionally written as JSON
(``--json``) and HTML (``--html``) in the format of changes.json/changes.html.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import sys
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jinja2

from . import atomic, state
from .aggregate import compute_figures, country_figures, region_figures
from .errors import ReportgenError
from .i18n import N_, Formatter, gettext_for, language_name
from .model import LANGUAGES, Dataset, Doc, is_missing
from .plan import plan_documents
from .render import make_environment, render_template
from .settings import templates_root
from .typography import Verbatim

__all__ = [
    "SNAPSHOT_VERSION",
    "snapshot",
    "compare",
    "update_changes",
    "render_changes_html",
    "report_json",
    "report_text",
    "write_changes_report",
    "run_diff",
    "diff_report",
]

#: Bump when the snapshot's structure changes: an older snapshot is then ignored (reported as such).
SNAPSHOT_VERSION = 1
#: Digits printed for shares (percent) and rating means, as the publications print them.
SHARE_DIGITS = 1
MEAN_DIGITS = 1
#: Lines of a narrative's unified diff kept in the report (the rest is counted).
MAX_DIFF_LINES = 60

KIND_ORDER = {"synthesis": 0, "region": 1, "country": 2}
MINUS = "\u2212"

Snapshot = dict[str, Any]
Report = dict[str, Any]


# ----------------------------------------------------------------------------------------------------------------
# Snapshot
# ----------------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _formatter(lang: str, currency: str):
    return Formatter(lang, currency)


def _plain(value: Any) -> float | int | None:
    """A JSON-safe number: None for NA/NaN, int for integral counts, float otherwise."""
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, int):
        return value
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


class _FigureList:
    """Collects a publication's figures, in reading order, each formatted for its language.

    Each figure's label is a message (``msg``, marked with :func:`N_`) and its arguments (``args``: names already in
    the publication's language); ``label`` is the message in English, as ``changes.json`` and ``reportgen diff``
    print it, and ``changes.html`` shows the message translated into the page's language."""

    def __init__(self, lang: str, currency: str):
        self.fmt = _formatter(lang, currency)
        self.items: list[dict[str, Any]] = []

    def _add(self, fid: str, msg: str, args: dict[str, str], kind: str, value: Any, text: str) -> None:
        self.items.append({"id": fid, "label": msg % args, "msg": msg, "args": args, "kind": kind, "value": value,
                           "text": text})

    def money(self, fid: str, msg: str, value: Any, **args: str) -> None:
        v = _plain(value)
        self._add(fid, msg, args, "money", v, self.fmt.money(None if v is None else float(v)))

    def count(self, fid: str, msg: str, value: Any, **args: str) -> None:
        v = _plain(value)
        self._add(fid, msg, args, "count", v, "–" if v is None else self.fmt.number(int(v), 0))

    def share(self, fid: str, msg: str, value: Any, **args: str) -> None:
        v = _plain(value)
        self._add(fid, msg, args, "share", v, self.fmt.percent(None if v is None else float(v), SHARE_DIGITS))

    def rank(self, fid: str, msg: str, rank: Any, of: int) -> None:
        v = _plain(rank)
        text = "–" if v is None else f"{int(v)} / {int(of)}"
        self._add(fid, msg, {}, "rank", v, text)

    def mean(self, fid: str, msg: str, value: Any, **args: str) -> None:
        v = _plain(value)
        self._add(fid, msg, args, "mean", v, "–" if v is None else self.fmt.number(float(v), MEAN_DIGITS))


class _Lookup:
    """A dataset's names, recommendations and region members, read once per snapshot (not once per publication)."""

    def __init__(self, ds: Dataset):
        self.ds = ds
        self._names: dict[tuple[str, str], dict[str, str]] = {}
        self._recs: dict[str, list[tuple[str, str, str]]] = {}
        self._scopes: dict[tuple[str, str], Any] = {}
        self.members: dict[str, list[str]] = {}
        c = ds.countries
        for country, region in zip(c["country"].astype("str").tolist(), c["region"].astype("str").tolist()):
            self.members.setdefault(region, []).append(country)

    def scope(self, figures, kind: str, code: str):
        """The region's or country's :class:`~reportgen.aggregate.ScopeFigures` (the same in every language)."""
        key = (kind, code)
        if key not in self._scopes:
            make = region_figures if kind == "region" else country_figures
            self._scopes[key] = make(self.ds, figures, code)
        return self._scopes[key]

    def actions(self, figures, country: str) -> dict[str, dict[str, Any]]:
        """The country's actions as its brief lists them (shared by the briefs of every language)."""
        key = ("actions", country)
        if key not in self._scopes:
            self._scopes[key] = _actions(self.scope(figures, "country", country).actions)
        return self._scopes[key]

    def names(self, kind: str, lang: str) -> dict[str, str]:
        """code -> name in ``lang`` of the regions (kind "region") or countries (kind "country")."""
        key = (kind, lang)
        if key not in self._names:
            frame = self.ds.regions if kind == "region" else self.ds.countries
            col = f"name_{lang}"
            names: dict[str, str] = {}
            if col in frame.columns:
                for code, name in zip(frame[kind].astype("str").tolist(), frame[col].tolist()):
                    if _plain_text(name):
                        names[code] = str(name)
            self._names[key] = names
        return self._names[key]

    def recs(self, lang: str, scopes: Iterable[str] | None) -> dict[str, str]:
        """rec_id -> text in ``lang`` of the recommendations whose scope is one of ``scopes`` (None: all)."""
        if lang not in self._recs:
            rec = self.ds.recommendations
            col = f"text_{lang}"
            rows: list[tuple[str, str, str]] = []
            if rec is not None and not rec.empty and col in rec.columns:
                rows = list(zip(rec["rec_id"].astype("str").tolist(), rec["scope"].astype("str").tolist(),
                                [str(t) for t in rec[col].tolist()]))
            self._recs[lang] = rows
        wanted = None if scopes is None else set(scopes)
        return {r: t for r, scope, t in self._recs[lang] if wanted is None or scope in wanted}


def _plain_text(value: Any) -> bool:
    """A non-missing, non-empty text value."""
    return _plain_missing(value) is False and str(value) != ""


_plain_missing = is_missing


def _narrative(ds: Dataset, doc: Doc) -> dict[str, str] | None:
    text = ds.narratives.get((doc.lang, doc.kind, doc.code))
    if text is None:
        return None
    return {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "text": text}


def _term_labels(terms, lang: str) -> dict[str, str]:
    """code -> label in ``lang`` of a vocabulary (themes, channels, criteria); the code when it has none."""
    return {t.code: t.label.get(lang) or t.code for t in terms}


def _synthesis_figures(ds: Dataset, figures, lang: str, look: _Lookup) -> list[dict]:
    ev = ds.evaluation
    f = _FigureList(lang, ev.currency)
    t = figures.totals
    f.money("total.committed", N_("total committed"), t.committed)
    f.count("total.actions", N_("actions"), t.actions)
    f.count("total.actions_without_amount", N_("actions without reported amount"), t.actions_without_amount)
    f.count("total.countries", N_("countries"), t.countries)
    f.count("total.regions", N_("regions"), t.regions)
    for row in figures.by_year.itertuples(index=False):
        f.money(f"year.{row.year}.committed", N_("committed in %(year)s"), row.committed, year=str(row.year))
        f.count(f"year.{row.year}.actions", N_("actions in %(year)s"), row.actions, year=str(row.year))
    channels = _term_labels(ev.channels, lang)
    for row in figures.by_channel.itertuples(index=False):
        channel = channels.get(str(row.channel), str(row.channel))
        f.money(f"channel.{row.channel}.committed", N_("committed, channel %(channel)s"), row.committed,
                channel=channel)
        f.share(f"channel.{row.channel}.share", N_("share of the total, channel %(channel)s"), row.share,
                channel=channel)
    region_names = look.names("region", lang)
    for row in figures.by_region.itertuples(index=False):
        name = _label_name(row.region, region_names)
        f.money(f"region.{row.region}.committed", N_("committed, region %(name)s"), row.committed, name=name)
        f.count(f"region.{row.region}.actions", N_("actions, region %(name)s"), row.actions, name=name)
        f.share(f"region.{row.region}.share", N_("share of the total, region %(name)s"), row.share, name=name)
    themes = _term_labels(ev.themes, lang)
    for row in figures.by_theme.itertuples(index=False):
        f.money(f"theme.{row.theme}.committed", N_("committed, theme %(theme)s"), row.committed,
                theme=themes.get(str(row.theme), str(row.theme)))
    _ratings(f, figures.ratings, ev, lang)
    return f.items


def _ratings(f: _FigureList, ratings, ev, lang: str) -> None:
    """The mean rating of each of the evaluation's criteria, in the vocabulary's order."""
    means = {str(c): m for c, m in _rows(ratings, "criterion", "mean")}
    for criterion, label in _term_labels(ev.criteria, lang).items():
        if criterion in means:
            f.mean(f"rating.{criterion}.mean", N_("mean rating, %(criterion)s"), means[criterion], criterion=label)


def _label_name(code: str, names: dict[str, str]) -> str:
    name = names.get(str(code))
    return f"{name} ({code})" if name and name != str(code) else str(code)


def _rows(frame, *columns: str) -> Iterable[tuple]:
    """The rows of ``columns`` of ``frame`` as tuples (much faster than itertuples on small frames)."""
    return zip(*(frame[c].tolist() for c in columns))


def _region_figures(ds: Dataset, figures, lang: str, code: str, look: _Lookup) -> list[dict]:
    sf = look.scope(figures, "region", code)
    f = _FigureList(lang, ds.evaluation.currency)
    t = sf.totals
    f.money("total.committed", N_("total committed"), t.committed)
    f.count("total.actions", N_("actions"), t.actions)
    f.count("total.actions_without_amount", N_("actions without reported amount"), t.actions_without_amount)
    f.count("total.countries", N_("countries"), t.countries)
    f.share("share", N_("share of the evaluation's total"), sf.share)
    f.rank("rank", N_("rank among regions"), sf.rank, sf.of)
    for year, committed in _rows(sf.by_year, "year", "committed"):
        f.money(f"year.{year}.committed", N_("committed in %(year)s"), committed, year=str(year))
    country_names = look.names("country", lang)
    if sf.countries is not None:
        for country, committed, actions in _rows(sf.countries, "country", "committed", "actions"):
            name = _label_name(country, country_names)
            f.money(f"country.{country}.committed", N_("committed, %(name)s"), committed, name=name)
            f.count(f"country.{country}.actions", N_("actions, %(name)s"), actions, name=name)
    return f.items


def _country_figures(ds: Dataset, figures, lang: str, code: str, look: _Lookup) -> list[dict]:
    sf = look.scope(figures, "country", code)
    f = _FigureList(lang, ds.evaluation.currency)
    t = sf.totals
    f.money("total.committed", N_("total committed"), t.committed)
    f.count("total.actions", N_("actions"), t.actions)
    f.count("total.actions_without_amount", N_("actions without reported amount"), t.actions_without_amount)
    f.share("share", N_("share of the evaluation's total"), sf.share)
    f.rank("rank", N_("rank among countries"), sf.rank, sf.of)
    for year, committed in _rows(sf.by_year, "year", "committed"):
        f.money(f"year.{year}.committed", N_("committed in %(year)s"), committed, year=str(year))
    _ratings(f, sf.ratings, ds.evaluation, lang)
    return f.items


#: The columns of a country brief's actions table, as recorded in its snapshot (raw values, any language).
ACTION_FIELDS = ("year", "title", "partner", "channel", "themes", "committed")
ACTION_FIELD_LABELS = {"year": N_("year"), "title": N_("title"), "partner": N_("partner"), "channel": N_("channel"),
                       "themes": N_("themes"), "committed": N_("amount committed")}


def _actions(frame) -> dict[str, dict[str, Any]]:
    """action_id -> the fields the country brief's actions table prints (raw: formatted when compared)."""
    out: dict[str, dict[str, Any]] = {}
    columns = [frame[c].tolist() for c in ("action_id", *ACTION_FIELDS)]
    for action_id, year, title, partner, channel, themes, committed in zip(*columns):
        out[str(action_id)] = {
            "year": _plain(year), "title": str(title), "partner": str(partner), "channel": str(channel),
            "themes": "" if _plain_missing(themes) else str(themes), "committed": _plain(committed),
        }
    return out


def _publication(ds: Dataset, figures, doc: Doc, look: _Lookup) -> dict[str, Any]:
    lang = doc.lang
    actions = None
    if doc.kind == "synthesis":
        title = ds.evaluation.title.get(lang, "")
        figs = _synthesis_figures(ds, figures, lang, look)
        recs = look.recs(lang, None)
    elif doc.kind == "region":
        assert doc.code is not None
        title = look.names("region", lang).get(doc.code, doc.code)
        figs = _region_figures(ds, figures, lang, doc.code, look)
        recs = look.recs(lang, [doc.code, *look.members.get(doc.code, [])])
    else:
        assert doc.code is not None
        title = look.names("country", lang).get(doc.code, doc.code)
        figs = _country_figures(ds, figures, lang, doc.code, look)
        recs = look.recs(lang, [doc.code])
        actions = look.actions(figures, doc.code)
    pub = {
        "lang": lang,
        "kind": doc.kind,
        "code": doc.code,
        "title": title,
        "figures": figs,
        "recommendations": recs,
        "narrative": _narrative(ds, doc),
    }
    if actions is not None:
        pub["actions"] = actions
    return pub


def snapshot(ds: Dataset, figures, languages: Iterable[str]) -> Snapshot:
    """What every publication of ``languages`` shows: key figures, actions, recommendations, narrative (JSON types).

    ``figures`` is :func:`reportgen.aggregate.compute_figures` of ``ds``. The publications are those a build
    makes (:func:`reportgen.plan.plan_documents`): per language, the synthesis and a brief per region and per
    country with at least one action.
    """
    languages = tuple(languages)
    ev = ds.evaluation
    look = _Lookup(ds)
    pubs = {doc.key: _publication(ds, figures, doc, look) for doc in plan_documents(ds, languages)}
    snap = {
        "version": SNAPSHOT_VERSION,
        "evaluation": {"id": ev.id, "currency": ev.currency, "title": dict(ev.title)},
        "languages": list(languages),
        "publications": pubs,
    }
    # Only JSON types (dict, list, str, int, float, None): the snapshot compares equal to one read back from disk.
    return snap


# ----------------------------------------------------------------------------------------------------------------
# Comparison
# ----------------------------------------------------------------------------------------------------------------

def _sort_key(key: str, pub: dict, languages: list[str]) -> tuple:
    lang = pub.get("lang", key.split("/", 1)[0])
    return (KIND_ORDER.get(pub.get("kind", ""), 9), pub.get("code") or "",
            languages.index(lang) if lang in languages else len(languages), key)


def _signed(delta: float, text: str) -> str:
    if delta > 0:
        return f"+{text}"
    if delta < 0:
        return f"{MINUS}{text}"
    return text


def _printed(kind: str, value: float | int) -> Decimal:
    """``value`` rounded as the publications print it (half up, like :class:`reportgen.i18n.Formatter`)."""
    digits = {"money": 0, "share": SHARE_DIGITS, "mean": MEAN_DIGITS}.get(kind, 0)
    number = Decimal(repr(float(value)))
    if kind == "share":
        number *= 100
    return number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def _difference(kind: str, old: Any, new: Any, lang: str, currency: str) -> dict[str, Any] | None:
    """new − old, as a number and as text in the publication's language; None when either side is missing.

    The text is the difference of the *printed* values (``2,7 % → 2,6 %`` differ by ``−0,1 pp``), so that it
    agrees with what the reader sees; the number is the exact difference.
    """
    if old is None or new is None:
        return None
    delta = new - old
    value: float | int = delta if isinstance(old, int) and isinstance(new, int) else round(float(delta), 10)
    fmt = _formatter(lang, currency)
    shown = _printed(kind, new) - _printed(kind, old)
    size = abs(shown)
    if kind == "money":
        text = fmt.money(float(size))
    elif kind == "share":
        text = f"{fmt.number(float(size), SHARE_DIGITS)} pp"
    elif kind == "mean":
        text = fmt.number(float(size), MEAN_DIGITS)
    else:
        text = fmt.number(int(size), 0)
    return {"value": value, "text": _signed(float(shown), text)}


def _label(f: dict) -> dict[str, Any]:
    """A figure's label: in English (``label``) and as a message to translate with its arguments (``msg``,
    ``args``) when the snapshot has them (a snapshot of an older version has only the English label)."""
    out: dict[str, Any] = {"label": f["label"]}
    if "msg" in f:
        out.update(msg=f["msg"], args=f.get("args", {}))
    return out


def _compare_figures(old: list[dict], new: list[dict], lang: str, currency: str) -> list[dict]:
    """Figures whose printed text changed, appeared or disappeared, in the new publication's order."""
    old_by_id = {f["id"]: f for f in old}
    new_ids = {f["id"] for f in new}
    out = []

    def side(f: dict | None) -> dict | None:
        return None if f is None else {"value": f["value"], "text": f["text"]}

    for f in new:
        o = old_by_id.get(f["id"])
        if o is not None and o["text"] == f["text"]:
            continue
        out.append({"id": f["id"], **_label(f), "kind": f["kind"], "old": side(o), "new": side(f),
                    "difference": _difference(f["kind"], o["value"] if o else None, f["value"], lang, currency)})
    for o in old:
        if o["id"] not in new_ids:
            out.append({"id": o["id"], **_label(o), "kind": o["kind"], "old": side(o), "new": None,
                        "difference": None})
    return out


def _action_text(field: str, value: Any, fmt) -> str:
    if field == "committed":
        return fmt.money(None if value is None else float(value))
    return "–" if value is None or value == "" else str(value)


def _compare_actions(old: dict[str, dict], new: dict[str, dict], lang: str, currency: str) -> dict[str, list]:
    """A country brief's actions added, removed, and changed (the fields whose printed value changed)."""
    fmt = _formatter(lang, currency)

    def summary(action_id: str, a: dict) -> dict[str, Any]:
        return {"action_id": action_id, "year": a.get("year"), "title": a.get("title", ""),
                "committed": _action_text("committed", a.get("committed"), fmt)}

    added = [summary(k, new[k]) for k in sorted(set(new) - set(old), key=_natural)]
    removed = [summary(k, old[k]) for k in sorted(set(old) - set(new), key=_natural)]
    changed = []
    for k in sorted(set(old) & set(new), key=_natural):
        if old[k] == new[k]:
            continue
        fields = []
        for field in ACTION_FIELDS:
            before = _action_text(field, old[k].get(field), fmt)
            after = _action_text(field, new[k].get(field), fmt)
            if before != after:
                diff = (_difference("money", old[k].get(field), new[k].get(field), lang, currency)
                        if field == "committed" else None)
                fields.append({"field": field, "label": ACTION_FIELD_LABELS[field], "old": before, "new": after,
                               "difference": diff["text"] if diff else None})
        if fields:
            changed.append({"action_id": k, "title": new[k].get("title", ""), "fields": fields})
    return {"added": added, "removed": removed, "changed": changed}


def _natural(text: str) -> tuple:
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", text))


def _compare_recs(old: dict[str, str], new: dict[str, str]) -> dict[str, list]:
    added = [{"rec_id": r, "text": new[r]} for r in sorted(set(new) - set(old), key=_natural)]
    removed = [{"rec_id": r, "text": old[r]} for r in sorted(set(old) - set(new), key=_natural)]
    changed = [{"rec_id": r, "old": old[r], "new": new[r]}
               for r in sorted(set(old) & set(new), key=_natural) if old[r] != new[r]]
    return {"added": added, "removed": removed, "changed": changed}


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]


def _compare_narrative(old: dict | None, new: dict | None) -> dict[str, Any] | None:
    """None when unchanged; otherwise the status, the changed paragraphs and a short unified diff."""
    if old == new or (old is not None and new is not None and old["sha256"] == new["sha256"]):
        return None
    status = "added" if old is None else "removed" if new is None else "changed"
    old_text = old["text"] if old else ""
    new_text = new["text"] if new else ""
    a, b = _paragraphs(old_text), _paragraphs(new_text)
    paragraphs: list[dict[str, str | None]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        olds, news = a[i1:i2], b[j1:j2]
        for k in range(max(len(olds), len(news))):
            paragraphs.append({"old": olds[k] if k < len(olds) else None,
                               "new": news[k] if k < len(news) else None})
    diff = list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), "before", "after",
                                     n=1, lineterm=""))[2:]
    truncated = max(0, len(diff) - MAX_DIFF_LINES)
    return {
        "status": status,
        "old_sha256": old["sha256"] if old else None,
        "new_sha256": new["sha256"] if new else None,
        "paragraphs": paragraphs,
        "diff": diff[:MAX_DIFF_LINES],
        "diff_lines_omitted": truncated,
    }


def _entry(key: str, pub: dict, status: str) -> dict[str, Any]:
    return {"key": key, "lang": pub.get("lang"), "kind": pub.get("kind"), "code": pub.get("code"),
            "title": pub.get("title", ""), "status": status}


def compare(old: Snapshot | None, new: Snapshot) -> Report:
    """The changes from snapshot ``old`` (None: no earlier build) to ``new``, per publication.

    Publications are sorted (synthesis, regions, countries; each code's languages together in the evaluation's
    order); unchanged ones are only counted. Publications of ``old`` that ``new`` lacks, whatever their language,
    are removed: a build restricted to some languages publishes only those.
    """
    languages = list(new.get("languages", []))
    currency = new.get("evaluation", {}).get("currency", "EUR")
    new_pubs: dict[str, dict] = new.get("publications", {})
    report: Report = {
        "version": SNAPSHOT_VERSION,
        "first_build": old is None,
        "evaluation": new.get("evaluation", {}),
        "languages": languages,
        "publications": [],
    }
    if old is None:
        report["counts"] = {"publications": len(new_pubs), "changed": 0, "added": 0, "removed": 0,
                            "unchanged": 0}
        return report
    old_pubs: dict[str, dict] = dict(old.get("publications", {}))
    entries = []
    unchanged = 0
    for key in set(new_pubs) | set(old_pubs):
        if key not in old_pubs:
            entries.append(_entry(key, new_pubs[key], "added"))
            continue
        if key not in new_pubs:
            entries.append(_entry(key, old_pubs[key], "removed"))
            continue
        o, n = old_pubs[key], new_pubs[key]
        lang = n.get("lang", key.split("/", 1)[0])
        figs = _compare_figures(o.get("figures", []), n.get("figures", []), lang, currency)
        recs = _compare_recs(o.get("recommendations", {}), n.get("recommendations", {}))
        narrative = _compare_narrative(o.get("narrative"), n.get("narrative"))
        actions = _compare_actions(o.get("actions", {}), n.get("actions", {}), lang, currency)
        title_changed = o.get("title") != n.get("title")
        if not (figs or any(recs.values()) or narrative or title_changed or any(actions.values())):
            unchanged += 1
            continue
        e = _entry(key, n, "changed")
        e["figures"] = figs
        e["recommendations"] = recs
        e["narrative"] = narrative
        e["actions"] = actions
        e["old_title"] = o.get("title") if title_changed else None
        entries.append(e)
    entries.sort(key=lambda e: _sort_key(e["key"], e, languages))
    report["publications"] = entries
    report["counts"] = {
        "publications": len(new_pubs),
        "changed": sum(e["status"] == "changed" for e in entries),
        "added": sum(e["status"] == "added" for e in entries),
        "removed": sum(e["status"] == "removed" for e in entries),
        "unchanged": unchanged,
    }
    return report


# ----------------------------------------------------------------------------------------------------------------
# Output: JSON, text, HTML
# ----------------------------------------------------------------------------------------------------------------

def _dumps(obj: Any) -> str:
    try:
        return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True, allow_nan=False) + "\n"
    except ValueError as exc:  # pragma: no cover - _plain() turns NaN into None
        raise ReportgenError(f"internal error: a figure is not a finite number ({exc}); please report it") from None


def _dumps_compact(obj: Any) -> str:
    """Hidden state (snapshots): compact JSON, sorted keys."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False) + "\n"


def report_json(report: Report) -> str:
    """The report as JSON text: sorted keys, deterministic."""
    return _dumps(report)


def _arrow(side: dict | None) -> str:
    return "(none)" if side is None else side["text"]


def report_text(report: Report, *, heading: str = "") -> str:
    """A plain-text report, one line per change, each prefixed with the publication key (greppable)."""
    lines = [heading] if heading else []
    c = report["counts"]
    if report["first_build"]:
        lines.append(f"no earlier build to compare with: {c['publications']} publications")
        return "\n".join(lines) + "\n"
    lines.append(f"{c['changed']} publication(s) changed, {c['added']} added, {c['removed']} removed, "
                 f"{c['unchanged']} unchanged")
    for p in report["publications"]:
        key = p["key"]
        lines.append("")
        lines.append(f"{key} · {p['title']}")
        if p["status"] != "changed":
            lines.append(f"{key}: publication {p['status']}")
            continue
        if p.get("old_title"):
            lines.append(f"{key}: title {p['old_title']} → {p['title']}")
        for f in p["figures"]:
            diff = f" ({f['difference']['text']})" if f["difference"] else ""
            lines.append(f"{key}: {f['label']} {_arrow(f['old'])} → {_arrow(f['new'])}{diff}")
        acts = p.get("actions") or {"added": [], "removed": [], "changed": []}
        for a in acts["changed"]:
            for f in a["fields"]:
                diff = f" ({f['difference']})" if f.get("difference") else ""
                lines.append(f"{key}: action {a['action_id']} {f['label']}: {f['old']} → {f['new']}{diff}")
        for a in acts["added"]:
            lines.append(f"{key}: action {a['action_id']} added: {a['year']}, {a['title']}, {a['committed']}")
        for a in acts["removed"]:
            lines.append(f"{key}: action {a['action_id']} removed: {a['year']}, {a['title']}, {a['committed']}")
        recs = p["recommendations"]
        for r in recs["added"]:
            lines.append(f"{key}: recommendation {r['rec_id']} added: {r['text']}")
        for r in recs["removed"]:
            lines.append(f"{key}: recommendation {r['rec_id']} removed: {r['text']}")
        for r in recs["changed"]:
            lines.append(f"{key}: recommendation {r['rec_id']} changed")
            lines.append(f"    - {r['old']}")
            lines.append(f"    + {r['new']}")
        n = p["narrative"]
        if n:
            lines.append(f"{key}: narrative {n['status']}")
            lines += [f"    {d}" for d in n["diff"]]
            if n["diff_lines_omitted"]:
                lines.append(f"    … {n['diff_lines_omitted']} more line(s)")
    return "\n".join(lines) + "\n"


def _word_diff(old: str, new: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Both texts as runs of (text, changed), for highlighting what changed within a paragraph."""
    a = re.findall(r"\s+|\w+|[^\w\s]", old)
    b = re.findall(r"\s+|\w+|[^\w\s]", new)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []

    def add(runs: list[tuple[str, bool]], text: str, changed: bool) -> None:
        if changed:  # highlight words, not the spaces around them
            core = text.strip()
            head, tail = text[:len(text) - len(text.lstrip())], text[len(text.rstrip()):] if core else ""
            for part, flag in ((head, False), (core, True), (tail, False)):
                if part:
                    runs.append((part, flag))
        elif text:
            runs.append((text, False))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        add(left, "".join(a[i1:i2]), tag != "equal")
        add(right, "".join(b[j1:j2]), tag != "equal")
    return left, right


def _template_dirs(extra: list[Path] | None) -> list[Path]:
    return [*(extra or []), templates_root()]


def _anchor(key: str) -> str:
    return "p-" + re.sub(r"[^A-Za-z0-9-]", "-", key)


def _figure_label(f: dict, _) -> dict[str, str]:
    """A figure's label in the page's language (``lang`` empty) or its English label (``lang`` "en")."""
    if "msg" in f:
        return {"text": _(f["msg"]) % f.get("args", {}), "lang": ""}
    return {"text": f["label"], "lang": "en"}


def changes_context(report: Report, lang: str, *, stylesheet: str | None = None, link_publications: bool = False,
                    heading: str = "") -> dict:
    """What ``changes.html.j2`` receives (see docs/templates.md, "changes")."""
    _ = gettext_for(lang)
    title = _("What changed")
    if report.get("evaluation", {}).get("id"):
        title = _("What changed · evaluation no. %(number)s") % {"number": report["evaluation"]["id"]}
    return {
        "lang": lang, "kind": "changes", "code": "", "root": Verbatim(""), "stylesheet": Verbatim(stylesheet or ""),
        "doc_title": title, "running_title": title, "series": "", "description": title,
        "evaluation": {"commissioner": ""}, "links": {"languages": []},
        # Figure labels are translated from their message (msg, args); a figure of an older snapshot has only an
        # English label, marked as such.
        "figure_label": lambda f: _figure_label(f, _),
        "report": report, "link_publications": link_publications, "heading": heading, "minus": MINUS,
        "languages": ", ".join(language_name(code) for code in report.get("languages", [])),
        "status": {"changed": _("changed"), "added": _("added"), "removed": _("removed")},
        "narrative_status": {"changed": _("Narrative changed"), "added": _("Narrative added"),
                             "removed": _("Narrative removed")},
        "word_diff": lambda old, new: _word_diff(old or "", new or ""),
        "anchor": lambda key: Verbatim(_anchor(key)),
    }


def render_changes_html(report: Report, *, template_dirs: list[Path] | None = None, stylesheet: str | None = None,
                        link_publications: bool = False, heading: str = "", lang: str = "") -> str:
    """The report as an HTML page, through the one Jinja environment (``changes.html.j2`` extends the base
    template), in ``lang`` (default: the first language of the report, the evaluation's main one); publication
    titles and values as the publications print them, marked with their language.

    ``template_dirs``: folders searched first for templates (an override folder), before the project's templates.
    ``stylesheet``: a relative URL to link (``assets/css/index.css`` in an output folder).
    ``link_publications``: link each publication's HTML page (when the page sits in the output folder).
    """
    lang = lang or next((code for code in report.get("languages", []) if code in LANGUAGES), "en")
    env = make_environment(lang, template_dirs=_template_dirs(template_dirs))
    try:
        template = env.get_template("changes.html.j2")
    except jinja2.TemplateNotFound as exc:
        raise ReportgenError(f"template {exc.name!r} not found in the templates folders; restore "
                             "templates/changes.html.j2 (or the override that hides it)") from None
    context = changes_context(report, lang, stylesheet=stylesheet, link_publications=link_publications,
                              heading=heading)
    return render_template(template, context, what="changes.html")


def write_changes_report(report: Report, *, json_path: Path | None, html_path: Path | None,
                 template_dirs: list[Path] | None = None, stylesheet: str | None = None,
                 link_publications: bool = False, heading: str = "", lang: str = "") -> None:
    """Write the report as JSON and/or HTML (atomic; a file whose bytes would not change is left alone)."""
    html = None
    if html_path is not None:
        html = render_changes_html(report, template_dirs=template_dirs, stylesheet=stylesheet,
                                   link_publications=link_publications, heading=heading, lang=lang)
    if json_path is not None:
        atomic.write_if_changed(json_path, report_json(report))
    if html_path is not None and html is not None:
        atomic.write_if_changed(html_path, html)


# ----------------------------------------------------------------------------------------------------------------
# Build history
# ----------------------------------------------------------------------------------------------------------------

def _read_snapshot(path: Path) -> Snapshot | None:
    """The snapshot at ``path``; None when missing, unreadable or of another version (then treated as no build)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != SNAPSHOT_VERSION:
        return None
    return data


def update_changes(settings, ds: Dataset, figures, languages: tuple[str, ...]) -> Report:
    """Compare this build's snapshot with the previous build's; write changes.json/.html; keep the snapshots.

    ``settings``: the build's :class:`reportgen.settings.Settings`. Writes ``{output}/changes.json`` and
    ``{output}/changes.html``; when the new snapshot differs from ``{output}/.reportgen/snapshot.json``, writes it
    as the pending snapshot, which the index stage commits (:func:`reportgen.state.commit_snapshot`) once the
    publications are published (see the module docstring). Returns the report.
    """
    current_path = state.snapshot_path(settings.output)
    previous_path = state.snapshot_path(settings.output, previous=True)
    new = snapshot(ds, figures, languages)
    current = _read_snapshot(current_path)
    stored = new
    rotate = current != stored
    base = current if rotate else _read_snapshot(previous_path)
    report = compare(base, new)

    dirs: list[Path] = []
    if getattr(settings, "templates", None):
        dirs.append(Path(settings.templates))
    css = "css/index.css"
    has_css = any((d / css).is_file() for d in _template_dirs(dirs))
    write_changes_report(report, json_path=Path(settings.output) / "changes.json",
                 html_path=Path(settings.output) / "changes.html", template_dirs=dirs,
                 stylesheet=f"assets/{css}" if has_css else None, link_publications=True,
                 lang=ds.evaluation.languages[0])
    # Committed by the index stage once the publications are published (state.commit_snapshot).
    pending = state.pending_snapshot_path(settings.output)
    if rotate:
        atomic.write_text(pending, _dumps_compact(stored))
    else:
        pending.unlink(missing_ok=True)
    return report


# ----------------------------------------------------------------------------------------------------------------
# `reportgen diff OLD_DATA NEW_DATA`: the same report between two dataset folders, without building
# ----------------------------------------------------------------------------------------------------------------

#: How many of a failing dataset's problems the error message quotes.
SHOWN_PROBLEMS = 5


def _load_dataset(folder: Path, which: str):
    """Validate ``folder``; its Dataset, or a ReportgenError naming the folder and its first errors."""
    from .validate import validate_dataset  # here for start-up time: `reportgen diff` only

    if not folder.is_dir():
        raise ReportgenError(f"the {which} dataset folder {folder} does not exist; give the path of a dataset "
                             "folder (the one holding evaluation.yaml)")
    result = validate_dataset(folder)
    if not result.ok or result.dataset is None:
        errors = [p for p in result.problems if p.severity == "error"]
        shown = "\n".join(f"  {p}" for p in errors[:SHOWN_PROBLEMS])
        more = f"\n  … and {len(errors) - SHOWN_PROBLEMS} more" if len(errors) > SHOWN_PROBLEMS else ""
        raise ReportgenError(f"the {which} dataset {folder} has {len(errors)} error(s); fix them (see "
                             f"`reportgen validate {folder}`) and compare again:\n{shown}{more}")
    return result.dataset


def diff_report(old_dir: Path, new_dir: Path) -> dict:
    """The changes report (see :func:`reportgen.changes.compare`) from dataset ``old_dir`` to ``new_dir``."""
    old_ds = _load_dataset(Path(old_dir), "old")
    new_ds = _load_dataset(Path(new_dir), "new")
    languages = tuple(new_ds.evaluation.languages)
    old_languages = tuple(l for l in languages if l in old_ds.evaluation.languages)
    old = snapshot(old_ds, compute_figures(old_ds), old_languages)
    new = snapshot(new_ds, compute_figures(new_ds), languages)
    # Publications of a language the old evaluation did not have are all "added": that is what they are.
    return compare(old, new)


def run_diff(old_dir: Path, new_dir: Path, *, json_out: Path | None = None, html_out: Path | None = None) -> int:
    """Print what changed from dataset ``old_dir`` to ``new_dir``; optionally write JSON/HTML; return 0."""
    old_dir, new_dir = Path(old_dir), Path(new_dir)
    report = diff_report(old_dir, new_dir)
    heading = f"{old_dir} → {new_dir}"
    stylesheet = None
    if html_out is not None and (Path(html_out).parent / "assets" / "css" / "index.css").is_file():
        stylesheet = "assets/css/index.css"
    write_changes_report(report, json_path=Path(json_out) if json_out else None,
                 html_path=Path(html_out) if html_out else None, stylesheet=stylesheet, heading=heading)
    sys.stdout.write(report_text(report, heading=f"reportgen diff: {heading}"))
    sys.stdout.flush()
    if json_out:
        print(f"report written to {json_out}", file=sys.stderr)
    if html_out:
        print(f"report written to {html_out}", file=sys.stderr)
    return 0
