"""What to publish, and how the render jobs share it.

:func:`plan_documents` is the one rule that decides which publications exist (per language: the synthesis, and a
brief for every region and country :meth:`~reportgen.model.Dataset.brief_scopes` returns); :func:`assign_shards`
spreads them over the render jobs; :func:`make_plan` writes both into the plan the render and index stages read.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import Doc

#: Plan format; a plan of another version is not read (the prepare stage writes a new one).
PLAN_VERSION = 1

#: Relative rendering cost of each kind of publication, before a build has measured them.
KIND_WEIGHT = {"synthesis": 12.0, "region": 3.0, "country": 1.5}


def plan_documents(ds, languages: Iterable[str]) -> list[Doc]:
    """Every publication: per language, the synthesis, a brief per region and per country with ≥ 1 action."""
    regions, countries = ds.brief_scopes()
    docs = []
    for lang in languages:
        docs.append(Doc(lang, "synthesis"))
        docs += [Doc(lang, "region", r) for r in regions]
        docs += [Doc(lang, "country", c) for c in countries]
    return docs


def weight(doc: Doc, measured: dict[str, float]) -> float:
    """A publication's rendering cost: its last measured time, else its kind's default."""
    return measured.get(doc.key) or KIND_WEIGHT[doc.kind]


def assign_shards(docs: list[Doc], shards: int, measured: dict[str, float]) -> dict[str, int]:
    """Longest-processing-time-first assignment: heaviest documents first, each to the least loaded shard."""
    load = [0.0] * shards
    out = {}
    for d in sorted(docs, key=lambda d: (-weight(d, measured), d.key)):
        i = min(range(shards), key=lambda k: (load[k], k))
        out[d.key] = i
        load[i] += weight(d, measured)
    return out


def make_plan(docs: list[Doc], *, languages: list[str], shards: int, epoch: int, started: float,
              measured: dict[str, float]) -> dict:
    """The render plan (``.reportgen/plan.json``)."""
    assignment = assign_shards(docs, shards, measured)
    return {
        "version": PLAN_VERSION,
        "epoch": epoch,
        "languages": list(languages),
        "shards": shards,
        "started": started,
        "documents": [{"key": d.key, "shard": assignment[d.key]} for d in docs],
    }


def shard_keys(plan: dict, shard: int) -> list[str]:
    return [d["key"] for d in plan["documents"] if d["shard"] == shard]
