"""ISO 3166-1 country codes: alpha-3 to alpha-2, CLDR names, and "did you mean" suggestions.

Babel (CLDR) names countries by their alpha-2 code and has no alpha-3 table of its own, so the 249 officially
assigned ISO 3166-1 codes are listed here, plus ``XKX`` for Kosovo (a user-assigned code in wide use, ``XK`` in
CLDR). The table is checked against CLDR's territory aliases by the tests.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata

from babel import Locale

from .model import LANGUAGES

_TABLE = """
    ABW:AW AFG:AF AGO:AO AIA:AI ALA:AX ALB:AL AND:AD ARE:AE ARG:AR ARM:AM
    ASM:AS ATA:AQ ATF:TF ATG:AG AUS:AU AUT:AT AZE:AZ BDI:BI BEL:BE BEN:BJ
    BES:BQ BFA:BF BGD:BD BGR:BG BHR:BH BHS:BS BIH:BA BLM:BL BLR:BY BLZ:BZ
    BMU:BM BOL:BO BRA:BR BRB:BB BRN:BN BTN:BT BVT:BV BWA:BW CAF:CF CAN:CA
    CCK:CC CHE:CH CHL:CL CHN:CN CIV:CI CMR:CM COD:CD COG:CG COK:CK COL:CO
    COM:KM CPV:CV CRI:CR CUB:CU CUW:CW CXR:CX CYM:KY CYP:CY CZE:CZ DEU:DE
    DJI:DJ DMA:DM DNK:DK DOM:DO DZA:DZ ECU:EC EGY:EG ERI:ER ESH:EH ESP:ES
    EST:EE ETH:ET FIN:FI FJI:FJ FLK:FK FRA:FR FRO:FO FSM:FM GAB:GA GBR:GB
    GEO:GE GGY:GG GHA:GH GIB:GI GIN:GN GLP:GP GMB:GM GNB:GW GNQ:GQ GRC:GR
    GRD:GD GRL:GL GTM:GT GUF:GF GUM:GU GUY:GY HKG:HK HMD:HM HND:HN HRV:HR
    HTI:HT HUN:HU IDN:ID IMN:IM IND:IN IOT:IO IRL:IE IRN:IR IRQ:IQ ISL:IS
    ISR:IL ITA:IT JAM:JM JEY:JE JOR:JO JPN:JP KAZ:KZ KEN:KE KGZ:KG KHM:KH
    KIR:KI KNA:KN KOR:KR KWT:KW LAO:LA LBN:LB LBR:LR LBY:LY LCA:LC LIE:LI
    LKA:LK LSO:LS LTU:LT LUX:LU LVA:LV MAC:MO MAF:MF MAR:MA MCO:MC MDA:MD
    MDG:MG MDV:MV MEX:MX MHL:MH MKD:MK MLI:ML MLT:MT MMR:MM MNE:ME MNG:MN
    MNP:MP MOZ:MZ MRT:MR MSR:MS MTQ:MQ MUS:MU MWI:MW MYS:MY MYT:YT NAM:NA
    NCL:NC NER:NE NFK:NF NGA:NG NIC:NI NIU:NU NLD:NL NOR:NO NPL:NP NRU:NR
    NZL:NZ OMN:OM PAK:PK PAN:PA PCN:PN PER:PE PHL:PH PLW:PW PNG:PG POL:PL
    PRI:PR PRK:KP PRT:PT PRY:PY PSE:PS PYF:PF QAT:QA REU:RE ROU:RO RUS:RU
    RWA:RW SAU:SA SDN:SD SEN:SN SGP:SG SGS:GS SHN:SH SJM:SJ SLB:SB SLE:SL
    SLV:SV SMR:SM SOM:SO SPM:PM SRB:RS SSD:SS STP:ST SUR:SR SVK:SK SVN:SI
    SWE:SE SWZ:SZ SXM:SX SYC:SC SYR:SY TCA:TC TCD:TD TGO:TG THA:TH TJK:TJ
    TKL:TK TKM:TM TLS:TL TON:TO TTO:TT TUN:TN TUR:TR TUV:TV TWN:TW TZA:TZ
    UGA:UG UKR:UA UMI:UM URY:UY USA:US UZB:UZ VAT:VA VCT:VC VEN:VE VGB:VG
    VIR:VI VNM:VN VUT:VU WLF:WF WSM:WS YEM:YE ZAF:ZA ZMB:ZM ZWE:ZW
    XKX:XK
"""

ALPHA3_TO_ALPHA2: dict[str, str] = dict(item.split(":") for item in _TABLE.split())
"""Every current ISO 3166-1 alpha-3 code (plus XKX for Kosovo) mapped to its alpha-2 code."""


def is_country_code(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-3 code in upper case (or XKX)."""
    return code in ALPHA3_TO_ALPHA2


def country_name(code: str, lang: str) -> str | None:
    """The CLDR name of an alpha-3 ``code`` in ``lang`` (``"CIV"``, ``"fr"`` → ``"Côte d’Ivoire"``), or None."""
    alpha2 = ALPHA3_TO_ALPHA2.get(code)
    if alpha2 is None:
        return None
    return Locale.parse(lang).territories.get(alpha2)


def _normalise(text: str) -> str:
    """Lower case, no accents, punctuation turned into single spaces: ``"Côte d’Ivoire"`` → ``"cote d ivoire"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


@functools.lru_cache(maxsize=1)
def _name_index() -> dict[str, str]:
    """Normalised names in every language reportgen publishes in (and codes) → alpha-3 code."""
    index: dict[str, str] = {}
    for lang in LANGUAGES:
        territories = Locale.parse(lang).territories
        for alpha3, alpha2 in ALPHA3_TO_ALPHA2.items():
            name = territories.get(alpha2)
            if name:
                index.setdefault(_normalise(name), alpha3)
    return index


def suggest_country(text: str) -> str | None:
    """The code a mistyped country most likely means, or None.

    Recognises a code in the wrong case (``civ``), an alpha-2 code (``CI``), and an English or French name, even
    misspelt or without accents (``Cote d'Ivoire``, ``Nigéria``, ``Turkey``). Only a close match is suggested.
    """
    value = text.strip()
    if not value:
        return None
    upper = value.upper()
    if upper in ALPHA3_TO_ALPHA2:
        return upper
    if len(upper) == 2:
        for alpha3, alpha2 in ALPHA3_TO_ALPHA2.items():
            if alpha2 == upper:
                return alpha3
        return None
    key = _normalise(value)
    if not key:
        return None
    index = _name_index()
    if key in index:
        return index[key]
    starting = {code for name, code in index.items() if name.startswith(key + " ")}
    if len(starting) == 1:
        return starting.pop()
    close = difflib.get_close_matches(key, list(index), n=1, cutoff=0.75)
    return index[close[0]] if close else None


def suggest_countries(text: str, among=None) -> list[str]:
    """Every code a mistyped country may mean (at most three), the likeliest first: :func:`suggest_country`'s, then
    the countries whose name starts with the text (``NIG``: Niger, then Nigeria), so that a user is not sent to
    the wrong one. ``among``: keep only these codes (the countries of the dataset)."""
    out: list[str] = []
    first = suggest_country(text)
    if first:
        out.append(first)
    key = _normalise(text)
    if len(key) >= 3:
        for name, code in sorted(_name_index().items()):
            if name.startswith(key) and code not in out:
                out.append(code)
    if among is not None:
        out = [c for c in out if c in among]
    return out[:3]


def describe(code: str, lang: str = "en") -> str:
    """``"CIV (Côte d’Ivoire)"``: a code with its name, for messages (a :class:`CountryCode` in English)."""
    name = country_name(code, lang)
    if lang == "en" and name:
        return CountryCode(code)
    return f"{code} ({name})" if name else code


class CountryCode(str):
    """``CIV (Côte d’Ivoire)`` in a problem's message: the code, quoted as it is, with the country's name in the
    language of the page that shows it (:func:`reportgen.review.message_html`)."""

    code: str

    def __new__(cls, code: str) -> CountryCode:
        self = super().__new__(cls, f"{code} ({country_name(code, 'en')})")
        self.code = code
        return self

    def __reduce__(self):
        return (CountryCode, (self.code,))

    def html(self, gettext, lang: str):
        from markupsafe import Markup, escape

        return Markup("<code>%s</code> (%s)") % (self.code, escape(country_name(self.code, lang) or self.code))


class CountryName(str):
    """A country's name in a problem's message (English text), shown in the language of the page."""

    code: str

    def __new__(cls, code: str) -> CountryName:
        self = super().__new__(cls, country_name(code, "en") or code)
        self.code = code
        return self

    def __reduce__(self):
        return (CountryName, (self.code,))

    def html(self, gettext, lang: str):
        from markupsafe import escape

        return escape(country_name(self.code, lang) or self.code)
