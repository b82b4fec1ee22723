"""The evaluation's vocabulary: its themes, criteria, scale, channels and funder, and their defaults.

evaluation.yaml may declare each of them (see docs/dataset.md); what it leaves out takes the defaults below, which
name no funder and no topic: the six OECD DAC criteria (the international standard), a scale from 1 to 4, the
channels bilateral, regional and multilateral, no themes. The texts of the defaults come from the translation
catalogues, so that they exist in every language reportgen publishes in.

One exception is tied to the data itself: a dataset that declares no themes and whose actions table has the
historical ``pillars`` column speaks the vocabulary of that column, the four pillars of the fight against trafficking
in human beings (:data:`LEGACY_PILLARS`).
"""

from __future__ import annotations

import re

from .i18n import N_, gettext_for
from .model import CHANNELS, CRITERIA, PILLARS, Scale, Term


CRITERION_LABELS = {"relevance": N_("relevance"), "coherence": N_("coherence"),
                    "effectiveness": N_("effectiveness"), "efficiency": N_("efficiency"),
                    "impact": N_("impact"), "sustainability": N_("sustainability")}
# Definitions that name no funder; {of_funder} variants are used when evaluation.yaml names one.
CRITERION_DEFINITIONS = {
    "relevance": N_("the extent to which the action's objectives answer the needs of the beneficiaries and of the "
                    "partner countries, and the priorities of the funder."),
    "coherence": N_("how well the action fits with other actions in the same field, of the same funder and of "
                    "others."),
    "effectiveness": N_("the extent to which the action achieved its objectives."),
    "efficiency": N_("how economically resources were turned into results."),
    "impact": N_("the lasting effects of the action, intended or not, beyond its direct results."),
    "sustainability": N_("whether the benefits of the action continue after its funding ends."),
}
CRITERION_DEFINITIONS_FUNDER = {
    "relevance": N_("the extent to which the action's objectives answer the needs of the beneficiaries and of the "
                    "partner countries, and the priorities %(of_funder)s."),
    "coherence": N_("how well the action fits with other actions %(of_funder)s and of others in the same field."),
    "sustainability": N_("whether the benefits of the action continue after the funding %(of_funder)s ends."),
}
CHANNEL_LABELS = {"bilateral": N_("bilateral"), "regional": N_("regional"), "multilateral": N_("multilateral")}
CHANNEL_DESCRIPTIONS = {
    "bilateral": N_("projects in a single partner country"),
    "regional": N_("actions covering several countries of a region"),
    "multilateral": N_("contributions to international organisations"),
}
SCALE_LABELS = {1: N_("unsatisfactory"), 2: N_("partly satisfactory"), 3: N_("satisfactory"),
                4: N_("very satisfactory")}

#: The vocabulary of the historical ``pillars`` column (data, not wording of reportgen: see the module docstring).
LEGACY_PILLARS: dict[str, dict[str, str]] = {
    "prevention": {"en": "prevention", "fr": "prévention"},
    "protection": {"en": "protection", "fr": "protection"},
    "prosecution": {"en": "prosecution", "fr": "poursuites"},
    "partnership": {"en": "partnership", "fr": "partenariat"},
}
LEGACY_PILLARS_TITLE = {"en": "Pillars of the fight against trafficking",
                        "fr": "Piliers de la lutte contre la traite"}


def _texts(message: str, languages: tuple[str, ...], **values: str | dict[str, str]) -> dict[str, str]:
    out = {}
    for lang in languages:
        text = gettext_for(lang)(message)
        args = {k: (v.get(lang, "") if isinstance(v, dict) else v) for k, v in values.items()}
        out[lang] = text % args if args else text
    return out


def of_funder(name: str, lang: str) -> str:
    """The funder as the complement "of …" in ``lang``: fr ``la France`` → ``de la France``, ``le Japon`` →
    ``du Japon``, ``les États-Unis`` → ``des États-Unis``, ``l'Union européenne`` → ``de l'Union européenne``,
    ``Irlande`` → ``d'Irlande``; en ``the United States`` → ``of the United States``."""
    name = name.strip()
    if lang == "fr":
        lowered = name.lower()
        if lowered.startswith("le "):
            return "du " + name[3:]
        if lowered.startswith("les "):
            return "des " + name[4:]
        if re.match(r"^(la |l'|l’)", lowered):
            return "de " + name
        if re.match(r"^[aeiouyàâéèêëîïôöûüœh]", lowered):
            return "d’" + name
        return "de " + name
    return "of " + name


def default_criteria(languages: tuple[str, ...], funder: dict[str, str]) -> tuple[Term, ...]:
    """The six OECD DAC criteria with definitions that name the funder only when evaluation.yaml names one."""
    terms = []
    for code in CRITERIA:
        if funder and code in CRITERION_DEFINITIONS_FUNDER:
            of = {lang: of_funder(funder[lang], lang) for lang in languages if lang in funder}
            definition = _texts(CRITERION_DEFINITIONS_FUNDER[code], languages, of_funder=of)
        else:
            definition = _texts(CRITERION_DEFINITIONS[code], languages)
        terms.append(Term(code, _texts(CRITERION_LABELS[code], languages), definition))
    return tuple(terms)


def default_channels(languages: tuple[str, ...]) -> tuple[Term, ...]:
    return tuple(Term(code, _texts(CHANNEL_LABELS[code], languages), _texts(CHANNEL_DESCRIPTIONS[code], languages))
                 for code in CHANNELS)


def default_scale(languages: tuple[str, ...]) -> Scale:
    return Scale(1, 4, {score: _texts(message, languages) for score, message in SCALE_LABELS.items()})


def legacy_themes(languages: tuple[str, ...]) -> tuple[tuple[Term, ...], dict[str, str]]:
    """The four pillars of a legacy ``pillars`` column, and their title, in ``languages`` (English when a language
    has no text)."""
    terms = tuple(Term(code, {lang: LEGACY_PILLARS[code].get(lang, LEGACY_PILLARS[code]["en"])
                              for lang in languages}) for code in PILLARS)
    title = {lang: LEGACY_PILLARS_TITLE.get(lang, LEGACY_PILLARS_TITLE["en"]) for lang in languages}
    return terms, title
