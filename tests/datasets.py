"""The tiny dataset every test builds on: its files as data, and a function that writes them.

``TINY_DATASET`` is a tiny, complete and valid dataset. It validates with no error and exactly one warning (action
A-005 has no reported amount), and covers: two languages (fr, en), three regions, five countries (one with a name
override, Kosovo as XKX), eight actions on every channel (two regional actions without a country, one without
amount, one without disbursed), ratings, recommendations at every scope, two indicators and narratives in both
languages. ratings.csv is `;`-separated, the other tables `,`-separated.

Tests take it through the fixtures of conftest.py (``tiny_dataset_files``, ``tiny_dataset_dir``, the session-wide
``tiny_validated`` and ``tiny_prepared``); a module that builds a variant at import or module scope imports it from
here.
"""

from __future__ import annotations

from pathlib import Path

TINY_DATASET: dict[str, str] = {
    "evaluation.yaml": """\
id: "128"
languages: [fr, en]
title:
  fr: Les actions de coopération en matière de lutte contre la traite des êtres humains
  en: Cooperation against trafficking in human beings
subtitle:
  fr: Rapport de synthèse
  en: Synthesis report
commissioner:
  fr: Ministère des Affaires étrangères
  en: Ministry of Foreign Affairs
evaluator: Example Evaluation Consultants
published: "2014-03"
period_start: 2007
period_end: 2011
currency: EUR
indicators:
  tip_tier:
    unit: tier
    label: {fr: Classement du rapport TIP, en: TIP report tier}
  victims_identified:
    unit: persons
    label: {fr: Victimes identifiées, en: Victims identified}
""",
    "regions.csv": """\
region,name_fr,name_en
see,Europe du Sud-Est,South-East Europe
west-africa,Afrique de l'Ouest et centrale,West and Central Africa
asia,Asie,Asia
""",
    "countries.csv": """\
country,region,name_fr,name_en
ALB,see,,
XKX,see,,
NGA,west-africa,,
CIV,west-africa,,Côte d'Ivoire
CHN,asia,,
""",
    "actions.csv": """\
action_id,title,country,region,channel,instrument,partner,pillars,year,committed,disbursed
A-001,Appui à l'agence nationale NAPTIP,NGA,west-africa,bilateral,FSP,UNODC,protection;prosecution,2008,150 000,"120000,50"
A-002,Conseiller technique régional,,see,regional,Programme 209,IOM,partnership;prevention,2007,320000,300000
A-003,Formation des magistrats,ALB,see,bilateral,FSP,Ministère de la Justice,prosecution,2009,45000.5,45000.5
A-004,Refuges pour les victimes,XKX,,bilateral,,ONG Espoir,protection,2010,60000,
A-005,Sensibilisation dans les écoles,CIV,west-africa,bilateral,,ONG Enfance,prevention,2011,,
A-006,Projet régional Mékong,,asia,multilateral,,UNODC,prevention;protection,2009,100000,80000
A-007,Coopération policière,CHN,asia,bilateral,Programme 209,Ministry of Public Security,prosecution,2010,80000,
A-008,Retour et réintégration,NGA,west-africa,multilateral,,IOM,protection;partnership,2011,200000,50000
""",
    "ratings.csv": """\
action_id;criterion;score;comment
A-001;relevance;4;Répond à une demande forte
A-001;effectiveness;3;
A-001;sustainability;2;Dépend des financements
A-002;relevance;4;
A-002;coherence;3;
A-002;efficiency;2;Coûts de fonctionnement élevés
A-003;impact;3;
A-008;effectiveness;2;
""",
    "recommendations.csv": """\
rec_id,scope,priority,addressee,text_fr,text_en
R1,global,high,DGM,Définir une stratégie d'ensemble,Define an overall strategy
R2,global,medium,DGM,Suivre les décaissements,Monitor disbursements
R3,see,high,Ambassades,Pérenniser le poste de conseiller régional,Keep the regional adviser post
R4,west-africa,medium,Ambassades,Appuyer la coopération entre pays d'origine et de destination,Support cooperation between origin and destination countries
R5,NGA,high,Ambassade au Nigeria,Renforcer l'appui à la NAPTIP,Strengthen support to NAPTIP
R6,CHN,low,Ambassade en Chine,Évaluer la coopération policière,Evaluate police cooperation
""",
    "indicators.csv": """\
country,indicator,year,value,source
NGA,tip_tier,2008,2,US TIP Report 2008
NGA,tip_tier,2011,2,US TIP Report 2011
ALB,tip_tier,2008,3,US TIP Report 2008
ALB,tip_tier,2011,2,US TIP Report 2011
NGA,victims_identified,2009,1 200,NAPTIP
NGA,victims_identified,2011,1450,NAPTIP
""",
    "narrative/fr/synthesis.md": "## Contexte\n\nLa France a soutenu la lutte contre la traite de 2007 à 2011.\n",
    "narrative/en/synthesis.md": "## Context\n\nFrance supported the fight against trafficking from 2007 to 2011.\n",
    "narrative/fr/regions/see.md": "Un conseiller technique régional couvre seize pays.\n",
    "narrative/en/regions/see.md": "A regional technical adviser covers sixteen countries.\n",
    "narrative/fr/countries/NGA.md": "Le Nigeria est un pays d'origine majeur.\n",
    "narrative/en/countries/NGA.md": "Nigeria is a major country of origin.\n",
}


def write_dataset(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (relative path → text or bytes) under ``root``; return ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return root
