"""`reportgen brief CODE --lang LANG`: one country or region brief from the data, without the workflow.

It runs the same stages as the workflow (validation, figures, rendering of that one publication) into the same
output folder, so the brief is byte-identical to the one a full build makes.

It works in its own state: the dataset, its figures and the plan stay in memory, never in the workflow's build
state. What it writes into the output folder (the brief and its state, the validation report, the assets) is true
of the current inputs, and the workflow's stage results are removed (:func:`reportgen.state.invalidate_workflow`),
so the next build runs every stage again and publishes exactly what a clean build would (re-rendering only the
publications whose content changed). See docs/architecture.md, "Commands that share the output folder".
"""

from __future__ import annotations

import re

from . import build, state
from .console import say
from .errors import ReportgenError
from .iso3166 import is_country_code
from .model import COUNTRY_CODE, REGION_CODE, Doc
from .settings import Settings


def build_brief(s: Settings, code: str, lang: str) -> int:
    # Imported here for start-up time: WeasyPrint and the render pool load only once the data is valid.
    from .worker import Worker

    # A country code in any case (nga → NGA), else a region code; a lower-case word that is both is looked up as
    # a region first (region codes are lower-case), then as a country.
    candidates = []
    if re.fullmatch(REGION_CODE, code):
        candidates.append(Doc(lang, "region", code))
    if re.fullmatch(COUNTRY_CODE, code.upper()):
        candidates.append(Doc(lang, "country", code.upper()))
    if not candidates:
        raise ReportgenError(f"{code!r} is neither a country code (ISO alpha-3, e.g. NGA) nor a region "
                             "code (lower-case letters, digits and dashes)")
    site = s.languages  # the languages the site publishes, as the build's config says them
    s = Settings(**{**s.__dict__, "languages": (lang,)})
    ds, figures, plan = build.prepare_model(s, quiet=True, assets=False)
    unknown = [x for x in site if x not in ds.evaluation.languages]
    if unknown:  # as the build says of the same config
        raise ReportgenError(f"languages {unknown} are not declared in evaluation.yaml "
                             f"(it declares {list(ds.evaluation.languages)}); fix the languages config key")
    # The plan holds this one publication; the brief links its versions in the languages the site publishes, and
    # in its own (the plan's languages are what a build publishes): it is byte-identical to the build's.
    plan["languages"] = [x for x in ds.evaluation.languages if not site or x in site or x == lang]
    state.ensure_version(s.output)  # the publication's state it reads and writes is of this version
    keys = {d["key"] for d in plan["documents"]}
    fallback = candidates[-1] if is_country_code(code.upper()) else candidates[0]
    doc = next((d for d in candidates if d.key in keys), fallback)
    kind = doc.kind
    if doc.key not in keys:
        known = sorted(Doc.from_key(k).code for k in keys if Doc.from_key(k).kind == kind)
        hint = f" Known {kind} codes with actions: {', '.join(known[:30])}{'…' if len(known) > 30 else ''}."
        raise ReportgenError(f"there is no {kind} {doc.code!r} with at least one action in {s.data}.{hint}")
    build.publish_assets(s)  # the stylesheets, fonts and images the brief loads, as the build copies them
    worker = Worker(s, plan, model=(ds, figures))
    result = worker.render(doc.key)
    if result.status == "failed":
        raise ReportgenError(f"{doc.key}: {result.error}")
    say(f"{result.status}: {s.output / (doc.stem + '.pdf')} and .html ({result.pages} pages)")
    return 0
