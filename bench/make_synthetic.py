#!/usr/bin/env python3
"""Write a large, valid, synthetic reportgen dataset (for benchmarks and scale tests).

    python bench/make_synthetic.py OUT_DIR [--countries 200] [--regions 20] [--actions 20000] [--seed 1]
                                           [--max-amount 999999999]

The dataset follows the contract of docs/dataset.md: evaluation.yaml (fr + en), regions.csv, countries.csv,
actions.csv, ratings.csv, recommendations.csv, indicators.csv and narrative/{fr,en}/… for the synthesis, every
region and about one country in five. Country codes are real ISO 3166-1 alpha-3 codes (the first N in alphabetical
order), so names come from CLDR and countries.csv leaves name_fr/name_en empty. Amounts are log-uniform, 5,000 to
1.5 million (multilateral: 20,000 to 2.5 million); with --max-amount, up to that amount (the real-sized layout run
of bench/check_layout.py uses nine digits), the same actions and draws otherwise.

The output is deterministic: the same arguments give the same bytes. It uses only the standard library, so it runs
without the package installed, and writes 20 000 actions in well under ten seconds.

OUT_DIR must be empty or absent; with --force, the files this script writes (the tables, evaluation.yaml and the
narrative/ folder) are removed first, and nothing else in OUT_DIR is touched.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import shutil
import sys
import time
from pathlib import Path

# The 249 officially assigned ISO 3166-1 alpha-3 codes, in alphabetical order (Kosovo's XKX is not among them).
ISO_ALPHA3 = """
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD BGR BHR BHS BIH BLM BLR
BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP
CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB
GNB GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN
KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD
MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN
PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM
SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR
UMI URY USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
""".split()

# (code, French name, English name); codes beyond this list are numbered zones.
REGION_NAMES = [
    ("west-africa", "Afrique de l'Ouest", "West Africa"),
    ("central-africa", "Afrique centrale", "Central Africa"),
    ("east-africa", "Afrique de l'Est", "East Africa"),
    ("southern-africa", "Afrique australe", "Southern Africa"),
    ("north-africa", "Afrique du Nord", "North Africa"),
    ("middle-east", "Moyen-Orient", "Middle East"),
    ("south-east-europe", "Europe du Sud-Est", "South-East Europe"),
    ("eastern-europe", "Europe orientale", "Eastern Europe"),
    ("western-europe", "Europe de l'Ouest", "Western Europe"),
    ("northern-europe", "Europe du Nord", "Northern Europe"),
    ("central-asia", "Asie centrale", "Central Asia"),
    ("south-asia", "Asie du Sud", "South Asia"),
    ("south-east-asia", "Asie du Sud-Est", "South-East Asia"),
    ("east-asia", "Asie de l'Est", "East Asia"),
    ("pacific", "Pacifique", "Pacific"),
    ("caribbean", "Caraïbes", "Caribbean"),
    ("central-america", "Amérique centrale", "Central America"),
    ("south-america", "Amérique du Sud", "South America"),
    ("north-america", "Amérique du Nord", "North America"),
    ("indian-ocean", "Océan Indien", "Indian Ocean"),
]

PILLARS = ("prevention", "protection", "prosecution", "partnership")
CRITERIA = ("relevance", "coherence", "effectiveness", "efficiency", "impact", "sustainability")
CHANNELS = (("bilateral", 0.6), ("regional", 0.25), ("multilateral", 0.15))
INSTRUMENTS = ("FSP", "Programme 209", "FSD", "Crédits déconcentrés", "Contribution volontaire", "")
PARTNERS = (
    "UNODC", "IOM", "ILO", "UNICEF", "OSCE", "Conseil de l'Europe", "HCDH", "ECPAT International", "ECPAT France",
    "Fondation Scelles", "Comité contre l'esclavage moderne (CCEM)", "Terre des hommes", "La Strada International",
    "Hors la Rue", "Amicale du Nid", "Samusocial International", "Enda Tiers Monde", "Caritas", "Plan International",
    "Save the Children", "Avocats sans frontières", "École nationale de la magistrature (ENM)",
    "Direction de la coopération internationale (DCI)", "Office central pour la répression de la traite des êtres humains (OCRTEH)",
    "France Coopération Internationale (FCI)", "Civipol Conseil", "Ministère de la Justice", "Ministère de l'Intérieur",
    "Police nationale", "Agence nationale de lutte contre la traite", "Commission nationale des droits de l'homme",
    "Association des femmes juristes", "Réseau national des ONG d'accueil", "Centre d'accueil des victimes",
    "Brigade de protection des mineurs", "Université nationale, faculté de droit",
)
ACTIVITIES_FR = (
    "Formation des magistrats à", "Formation des policiers à", "Appui au centre d'accueil pour", "Campagne de prévention sur",
    "Réinsertion des victimes de", "Étude sur", "Atelier régional sur", "Appui au mécanisme national d'orientation pour",
    "Ligne d'assistance téléphonique sur", "Appui législatif sur", "Retour accompagné des victimes de",
    "Sensibilisation des travailleurs sociaux à",
)
THEMES_FR = (
    "la traite des mineurs", "l'exploitation sexuelle", "le travail forcé", "la servitude domestique",
    "la mendicité forcée", "la traite aux frontières", "l'identification des victimes", "l'indemnisation des victimes",
    "les enquêtes financières", "la protection des témoins", "le recrutement en ligne", "l'exploitation dans l'agriculture",
)
TITLES_EN = (
    "Shelter for child victims", "Training of prosecutors on trafficking cases", "Hotline for victims of trafficking",
    "Prevention campaign in secondary schools", "Reintegration of returned victims", "Study on forced labour in fisheries",
)
PLACES = ("(capitale)", "(zone frontalière)", "(régions rurales)", "(phase 2)", "« pilote »", "")
COMMENTS = (
    "Répond à une priorité du plan national d'action.", "Activités réalisées en partie ; rapport final non transmis.",
    "Well aligned with national priorities.", "High overheads relative to activities.",
    "Dépend entièrement du financement extérieur.", "Curriculum taken over by the national academy.",
)
RECS = (
    ("Renforcer le suivi des actions financées", "Strengthen the monitoring of funded actions"),
    ("Coordonner la programmation avec les autres bailleurs", "Coordinate programming with other donors"),
    ("Soutenir la protection et le retour des victimes", "Support the protection and return of victims"),
    ("Former les magistrats et les enquêteurs", "Train judges and investigators"),
    ("Assurer la reprise des dispositifs par les autorités nationales", "Ensure national authorities take over the schemes"),
)
ADDRESSEES = ("DGM", "Ambassade", "DGM, ambassades", "Représentation permanente", "Ministère de la Justice")
INDICATORS = (
    ("victims_identified", "n", "Victimes identifiées (personnes)", "Victims identified (persons)", 50, 2000),
    ("prosecutions", "n", "Poursuites engagées (affaires)", "Prosecutions initiated (cases)", 5, 400),
    ("convictions", "n", "Condamnations (personnes)", "Convictions (persons)", 1, 300),
)
PERIOD = (2007, 2011)


def _csv(path: Path, header: list[str], rows) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def _amount(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _money(value: float, cents: bool) -> str:
    return f"{value:.2f}" if cents else str(int(round(value)))


def _yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _paragraph_fr(rng: random.Random, subject: str) -> str:
    parts = [
        f"{subject} a fait l'objet d'actions de coopération entre {PERIOD[0]} et {PERIOD[1]}.",
        rng.choice((
            "Les actions portent surtout sur la protection des victimes et la formation des professionnels.",
            "La prévention auprès des jeunes et l'appui aux institutions nationales dominent.",
            "La coopération judiciaire et policière y occupe une place croissante.",
        )),
        rng.choice((
            "Le suivi reste inégal : certaines actions n'ont pas de montant renseigné.",
            "Les partenaires sont des ONG locales, des institutions publiques et des agences des Nations unies.",
            "La pérennité des dispositifs dépend souvent du financement extérieur.",
        )),
        "Ce texte est synthétique : il sert aux tests de charge et ne décrit aucune situation réelle.",
    ]
    return " ".join(parts)


def _paragraph_en(rng: random.Random, subject: str) -> str:
    parts = [
        f"{subject} received cooperation actions between {PERIOD[0]} and {PERIOD[1]}.",
        rng.choice((
            "Most actions concern victim protection and training for professionals.",
            "Prevention among young people and support to national institutions dominate.",
            "Judicial and police cooperation plays a growing part.",
        )),
        rng.choice((
            "Monitoring is uneven: some actions have no reported amount.",
            "Partners are local NGOs, public institutions and United Nations agencies.",
            "The sustainability of the schemes often depends on outside funding.",
        )),
        "This text is synthetic: it exists for load tests and describes no real situation.",
    ]
    return " ".join(parts)


def generate(out: Path, *, countries: int = 200, regions: int = 20, actions: int = 20000, seed: int = 1,
             max_amount: float | None = None) -> dict:
    """Write the dataset into ``out`` (which must exist and be empty of dataset files). Returns counts.
    ``max_amount``: the largest amount an action may have (default: 1.5 million, multilateral 2.5 million)."""
    if not 1 <= countries <= len(ISO_ALPHA3):
        raise ValueError(f"--countries must be between 1 and {len(ISO_ALPHA3)}, got {countries}")
    if regions < 1:
        raise ValueError(f"--regions must be at least 1, got {regions}")
    if actions < 1:
        raise ValueError(f"--actions must be at least 1, got {actions}")
    if max_amount is not None and max_amount < 25_000:
        raise ValueError(f"--max-amount must be at least 25000, got {max_amount:g}")
    bilateral_max, multilateral_max = (1_500_000, 2_500_000) if max_amount is None else (max_amount * 0.6, max_amount)
    rng = random.Random(seed)
    y0, y1 = PERIOD

    # ---------------------------------------------------------------- evaluation.yaml
    ind_yaml = "".join(
        f"  {code}:\n    unit: {_yaml_str(unit)}\n    label:\n      fr: {_yaml_str(fr)}\n      en: {_yaml_str(en)}\n"
        for code, unit, fr, en, _, _ in INDICATORS
    )
    (out / "evaluation.yaml").write_bytes(
        (
            "# Synthetic dataset written by bench/make_synthetic.py: every figure and text is made up.\n"
            f'id: "S{seed}"\n'
            "languages: [fr, en]\n"
            "title:\n"
            f"  fr: {_yaml_str('Évaluation synthétique de la coopération contre la traite des êtres humains')}\n"
            f"  en: {_yaml_str('Synthetic evaluation of cooperation against trafficking in human beings')}\n"
            "subtitle:\n"
            f"  fr: {_yaml_str(f'{countries} pays, {regions} régions, {actions} actions (données de test)')}\n"
            f"  en: {_yaml_str(f'{countries} countries, {regions} regions, {actions} actions (test data)')}\n"
            "commissioner:\n"
            f"  fr: {_yaml_str('Ministère des Affaires étrangères (fictif)')}\n"
            f"  en: {_yaml_str('Ministry of Foreign Affairs (fictitious)')}\n"
            f"evaluator: {_yaml_str('reportgen bench/make_synthetic.py')}\n"
            'published: "2014-03"\n'
            f"period_start: {y0}\nperiod_end: {y1}\n"
            "currency: EUR\n"
            "indicators:\n" + ind_yaml
        ).encode("utf-8")
    )

    # ---------------------------------------------------------------- regions and countries
    region_rows = [
        REGION_NAMES[i] if i < len(REGION_NAMES) else (f"zone-{i + 1:02d}", f"Zone {i + 1}", f"Zone {i + 1}")
        for i in range(regions)
    ]
    region_codes = [r[0] for r in region_rows]
    _csv(out / "regions.csv", ["region", "name_fr", "name_en"], region_rows)

    codes = ISO_ALPHA3[:countries]
    # contiguous blocks of near-equal size (alphabetical, so regions are not geographic: it is test data)
    country_region = {c: region_codes[i * regions // countries] for i, c in enumerate(codes)}
    _csv(out / "countries.csv", ["country", "region", "name_fr", "name_en"],
         [(c, country_region[c], "", "") for c in codes])

    # ---------------------------------------------------------------- actions
    weights = [1.0 / (1 + 0.03 * i) for i in range(countries)]  # some countries get many more actions
    channel_names = [c for c, _ in CHANNELS]
    channel_weights = [w for _, w in CHANNELS]
    action_rows = []
    action_years = []
    no_amount = 0
    for n in range(1, actions + 1):
        year = rng.randint(y0, y1)
        if rng.random() < 0.07:
            country, region = "", rng.choice(region_codes)
        else:
            country = rng.choices(codes, weights)[0]
            region = country_region[country]
        channel = rng.choices(channel_names, channel_weights)[0]
        if country == "" and channel == "bilateral":
            channel = "regional"
        instrument = "Contribution volontaire" if channel == "multilateral" else rng.choice(INSTRUMENTS)
        partner = rng.choice(PARTNERS)
        k = rng.choices((1, 2, 3), (0.65, 0.3, 0.05))[0]
        pillars = rng.sample(PILLARS, k)
        if rng.random() < 0.8:
            pillars.sort(key=PILLARS.index)
        if rng.random() < 0.1:
            title = rng.choice(TITLES_EN)
        else:
            title = f"{rng.choice(ACTIVITIES_FR)} {rng.choice(THEMES_FR)} {rng.choice(PLACES)}".strip()
        if rng.random() < 0.03:
            committed = disbursed = ""
            no_amount += 1
        else:
            value = (_amount(rng, 20_000, multilateral_max) if channel == "multilateral"
                     else _amount(rng, 5_000, bilateral_max))
            cents = rng.random() < 0.1
            value = round(value, 2) if cents else float(round(value / 500) * 500 or 500)
            committed = _money(value, cents)
            r = rng.random()
            if r < 0.2:
                disbursed = ""
            elif r < 0.7:
                disbursed = committed
            else:
                disbursed = _money(math.floor(value * rng.uniform(0.2, 0.99)), False)
        action_id = f"S-{n:06d}"
        action_rows.append((action_id, title, country, region, channel, instrument, partner, ";".join(pillars),
                            year, committed, disbursed))
        action_years.append(year)
    _csv(out / "actions.csv",
         ["action_id", "title", "country", "region", "channel", "instrument", "partner", "pillars", "year",
          "committed", "disbursed"],
         action_rows)

    # ---------------------------------------------------------------- ratings
    rating_rows = []
    for (action_id, *_rest), year in zip(action_rows, action_years):
        if rng.random() >= 0.6:
            continue
        base = rng.gauss(2.6, 0.5)
        for criterion in CRITERIA:
            if criterion in ("impact", "sustainability") and year == y1 and rng.random() < 0.5:
                continue
            score = min(4, max(1, int(round(base + rng.gauss(0, 0.6)))))
            comment = rng.choice(COMMENTS) if rng.random() < 0.08 else ""
            rating_rows.append((action_id, criterion, score, comment))
    _csv(out / "ratings.csv", ["action_id", "criterion", "score", "comment"], rating_rows)

    # ---------------------------------------------------------------- narratives: synthesis, every region, ~20 % of countries
    narrated = [c for i, c in enumerate(codes) if i % 5 == 0]
    for lang in ("fr", "en"):
        (out / "narrative" / lang / "regions").mkdir(parents=True, exist_ok=True)
        (out / "narrative" / lang / "countries").mkdir(parents=True, exist_ok=True)
    notice_fr = "*Jeu de données synthétique : tous les chiffres et les textes sont inventés.*"
    notice_en = "*Synthetic dataset: every figure and text is made up.*"
    synth = {
        "fr": f"{notice_fr}\n\n## Contexte\n\n{_paragraph_fr(rng, 'La lutte contre la traite')}\n\n"
              f"## Conclusions\n\n{_paragraph_fr(rng, 'Chaque région')}\n",
        "en": f"{notice_en}\n\n## Context\n\n{_paragraph_en(rng, 'The fight against trafficking')}\n\n"
              f"## Conclusions\n\n{_paragraph_en(rng, 'Each region')}\n",
    }
    for lang, text in synth.items():
        (out / "narrative" / lang / "synthesis.md").write_bytes(text.encode("utf-8"))
    for code, name_fr, name_en in region_rows:
        (out / "narrative" / "fr" / "regions" / f"{code}.md").write_bytes(
            (_paragraph_fr(rng, f"La région « {name_fr} »") + "\n").encode("utf-8"))
        (out / "narrative" / "en" / "regions" / f"{code}.md").write_bytes(
            (_paragraph_en(rng, f"The region {name_en}") + "\n").encode("utf-8"))
    for code in narrated:
        (out / "narrative" / "fr" / "countries" / f"{code}.md").write_bytes(
            (_paragraph_fr(rng, f"Le pays {code}") + "\n").encode("utf-8"))
        (out / "narrative" / "en" / "countries" / f"{code}.md").write_bytes(
            (_paragraph_en(rng, f"Country {code}") + "\n").encode("utf-8"))

    # ---------------------------------------------------------------- recommendations: every scope kind
    scopes = ["global"] * 5 + region_codes + [c for i, c in enumerate(codes) if i % 10 == 0]
    rec_rows = []
    for i, scope in enumerate(scopes, 1):
        fr, en = rng.choice(RECS)
        rec_rows.append((f"R{i:03d}", scope, rng.choice(("high", "medium", "low")), rng.choice(ADDRESSEES),
                         f"{fr} ({scope}).", f"{en} ({scope})."))
    _csv(out / "recommendations.csv", ["rec_id", "scope", "priority", "addressee", "text_fr", "text_en"], rec_rows)

    # ---------------------------------------------------------------- indicators for the narrated countries
    ind_rows = []
    for code in narrated:
        for ind, _unit, _fr, _en, lo, hi in INDICATORS:
            value = rng.uniform(lo, hi)
            trend = rng.uniform(-0.15, 0.25)
            for year in range(y0, y1 + 1):
                ind_rows.append((code, ind, year, int(round(value)), "Données synthétiques"))
                value = max(0.0, value * (1 + trend))
    _csv(out / "indicators.csv", ["country", "indicator", "year", "value", "source"], ind_rows)

    return {
        "actions": len(action_rows),
        "actions_without_amount": no_amount,
        "countries": countries,
        "regions": regions,
        "ratings": len(rating_rows),
        "recommendations": len(rec_rows),
        "indicators": len(ind_rows),
        "narratives": 2 * (1 + len(region_rows) + len(narrated)),
    }


OWNED = ("evaluation.yaml", "regions.csv", "countries.csv", "actions.csv", "ratings.csv", "recommendations.csv",
         "indicators.csv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="folder to write the dataset into (created if absent)")
    parser.add_argument("--countries", type=int, default=200, help=f"number of countries, 1–{len(ISO_ALPHA3)} (default 200)")
    parser.add_argument("--regions", type=int, default=20, help="number of regions (default 20)")
    parser.add_argument("--actions", type=int, default=20000, help="number of actions (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed; same seed, same bytes (default 1)")
    parser.add_argument("--max-amount", type=float, default=None,
                        help="largest amount of an action, e.g. 999999999 for nine digits (default 1.5 million, "
                             "multilateral 2.5 million)")
    parser.add_argument("--force", action="store_true",
                        help="replace a dataset already in OUT_DIR (removes only the files this script writes)")
    args = parser.parse_args(argv)

    out: Path = args.out_dir
    if out.exists() and not out.is_dir():
        parser.error(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not args.force:
            parser.error(f"{out} is not empty; choose an empty folder or pass --force to replace the dataset in it")
        for name in OWNED:
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "narrative", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    try:
        counts = generate(out, countries=args.countries, regions=args.regions, actions=args.actions, seed=args.seed,
                          max_amount=args.max_amount)
    except ValueError as exc:
        parser.error(str(exc))
    elapsed = time.perf_counter() - start
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"wrote {out}: {summary} in {elapsed:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
