import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from tiers import examples

from reportgen.typography import NBSP, NNBSP, english, english_html, french, french_html, typeset_parts

N, NN = NBSP, NNBSP


@pytest.mark.parametrize(
    "text, expected",
    [
        # ; ! ? get U+202F, : gets U+00A0; an existing space is replaced, a missing one inserted
        ("Pourquoi ?", f"Pourquoi{NN}?"),
        ("Pourquoi?", f"Pourquoi{NN}?"),
        ("Attention !", f"Attention{NN}!"),
        ("un ; deux", f"un{NN}; deux"),
        ("un; deux", f"un{NN}; deux"),
        ("Note : voir", f"Note{N}: voir"),
        ("Note: voir", f"Note{N}: voir"),
        ("Note :", f"Note{N}:"),
        (f"Note{NN}: voir", f"Note{N}: voir"),  # the wrong no-break space is corrected
        (f"Quoi{N}?", f"Quoi{NN}?"),
        ("Note  \t: voir", f"Note{N}: voir"),  # a run of spaces collapses
        ("Quoi ?!", f"Quoi{NN}?!"),  # no space between two marks
        ("Quoi ? !", f"Quoi{NN}?{NN}!"),
        ("(?)", "(?)"),
        ("« Vraiment ? »", f"«{N}Vraiment{NN}?{N}»"),
        ("Il a dit : « non ».", f"Il a dit{N}: «{N}non{N}»."),
        # guillemets
        ("« texte »", f"«{N}texte{N}»"),
        ("«texte»", f"«{N}texte{N}»"),
        (f"«{NN}texte{NN}»", f"«{N}texte{N}»"),
        # numéro and 1er
        ("Évaluation n° 128", f"Évaluation n°{N}128"),
        ("n°128", f"n°{N}128"),
        ("N° 12", f"N°{N}12"),
        ("le 1er mars 2014", f"le 1er{N}mars 2014"),
        ("le 1er avril", f"le 1er{N}avril"),
        ("1er rang", "1er rang"),
        # left alone
        ("Il est 12:30.", "Il est 12:30."),
        ("12:30:00", "12:30:00"),
        ("ratio 1:2", "ratio 1:2"),
        ("C:\\dossier", "C:\\dossier"),
        ("urn:isbn:123", "urn:isbn:123"),
        ("https://example.org/a?b=1;c=2", "https://example.org/a?b=1;c=2"),
        ("voir https://example.org/page?", "voir https://example.org/page?"),
        ("voir http://example.org/#!/x !", f"voir http://example.org/#!/x{NN}!"),
        ("https://example.org : le site", f"https://example.org{N}: le site"),
        ("écrire à mailto:a@b.fr?subject=x", "écrire à mailto:a@b.fr?subject=x"),
        ("www.example.org/?q=1!", "www.example.org/?q=1!"),
        ("a?b=c", "a?b=c"),
        (":) ;) :-) ;-) :D :-(", ":) ;) :-) ;-) :D :-("),
        ("? au début", "? au début"),
        ("ligne\n: suite", "ligne\n: suite"),
        ("1 234 567", "1 234 567"),
        ("12 %", f"12{N}%"),  # a number and its unit stay together
        ("", ""),
        ("texte sans règle", "texte sans règle"),
    ],
)
def test_french(text, expected):
    assert french(text) == expected
    assert french(expected) == expected


def test_french_on_markup_is_html_aware():
    out = french(Markup("AT&amp;T ; oui"))
    assert isinstance(out, Markup)
    assert out == f"AT&amp;T{NN}; oui"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("<p>Titre : suite</p>", f"<p>Titre{N}: suite</p>"),
        ("<p>Titre <em>vraiment</em>?</p>", f"<p>Titre <em>vraiment</em>{NN}?</p>"),
        ("<p><strong>Note</strong> : x</p>", f"<p><strong>Note</strong>{N}: x</p>"),
        ("<p>« <em>texte</em> »</p>", f"<p>«{N}<em>texte</em>{N}»</p>"),
        # attributes and tags never change
        (
            '<a href="https://x.org/?a=1;b" title="Note : x ?">lien</a> : ici',
            f'<a href="https://x.org/?a=1;b" title="Note : x ?">lien</a>{N}: ici',
        ),
        ("<img alt='a : b' src=x.png>", "<img alt='a : b' src=x.png>"),
        # code, pre, script, style untouched
        ("<p>Tapez <code>a ; b</code> !</p>", f"<p>Tapez <code>a ; b</code>{NN}!</p>"),
        ("<pre>x = a ? b : c;\n</pre>", "<pre>x = a ? b : c;\n</pre>"),
        ("<script>if (a ? b : c) {}</script>", "<script>if (a ? b : c) {}</script>"),
        ("<style>a:hover { color: red ; }</style>", "<style>a:hover { color: red ; }</style>"),
        ("<pre><code>« a »</code></pre><p>« a »</p>", f"<pre><code>« a »</code></pre><p>«{N}a{N}»</p>"),
        # entities are decoded before the rules, re-escaped after
        ("<p>AT&amp;T ; ok</p>", f"<p>AT&amp;T{NN}; ok</p>"),
        ("<p>a &lt;b&gt; ?</p>", f"<p>a &lt;b&gt;{NN}?</p>"),
        ("<p>rien &eacute; &#233;</p>", "<p>rien &eacute; &#233;</p>"),  # unchanged node kept byte for byte
        # blocks do not join
        ("<li>un</li><li>? deux</li>", "<li>un</li><li>? deux</li>"),
        ("<p>un<br>: deux</p>", "<p>un<br>: deux</p>"),
        ("<!-- a : b --><p>x</p>", "<!-- a : b --><p>x</p>"),
        ("<td>n° 5</td>", f"<td>n°{N}5</td>"),
    ],
)
def test_french_html(source, expected):
    assert french_html(source) == expected
    assert french_html(expected) == expected


def test_french_html_keeps_markup_type():
    assert isinstance(french_html(Markup("<p>a : b</p>")), Markup)
    assert type(french_html("<p>a : b</p>")) is str


# --- properties ---------------------------------------------------------------------------------------------------

_SPACES = re.compile("[ \t\u00a0\u202f\u2009\u2007]")
texts = st.lists(
    st.sampled_from(list("ab1203 :;!?«»°nNer.,()'\"/\n\t") + [N, NN, "\u2009", "mars", "http://", "@x.fr", "1er "]),
    max_size=40,
).map("".join)


@settings(max_examples=examples(400), deadline=None)
@given(texts)
def test_french_is_idempotent(text):
    once = french(text)
    assert french(once) == once


@settings(max_examples=examples(400), deadline=None)
@given(texts)
def test_french_changes_only_spaces_and_apostrophes(text):
    assert _SPACES.sub("", french(text)).replace("’", "'") == _SPACES.sub("", text).replace("’", "'")


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters=";:!?«»°'%€")))
def test_text_without_marks_is_unchanged(text):
    if "1er" not in text:
        assert french(text) == text


fragments = st.lists(
    st.one_of(
        texts,
        st.sampled_from(
            ["<p>", "</p>", "<em>", "</em>", '<a href="http://x/?a=1;b">', "</a>", "<code>", "</code>", "<br>",
             "<li>", "</li>", '<img alt="a : b">', "&amp;", "&lt;"]
        ),
    ),
    max_size=12,
).map("".join)  # fmt: skip
_TAGS = re.compile(r"<[^>]*>")


@settings(max_examples=examples(400), deadline=None)
@given(fragments)
def test_french_html_is_idempotent_and_keeps_tags(source):
    once = french_html(source)
    assert french_html(once) == once
    assert _TAGS.findall(once) == _TAGS.findall(source)
    text_in = html.unescape(_TAGS.sub("", source))
    text_out = html.unescape(_TAGS.sub("", once))
    assert _SPACES.sub("", text_out).replace("’", "'") == _SPACES.sub("", text_in).replace("’", "'")


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab12 :;!?«»°n.\n") + [N, NN]), max_size=30))
def test_french_html_on_a_paragraph_equals_french(text):
    assert french_html(f"<p>{text}</p>") == f"<p>{french(text)}</p>"


# --- apostrophes, English, language of parts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Afrique de l'Ouest", "Afrique de l’Ouest"),
        ("aujourd'hui", "aujourd’hui"),
        ("l' Ouest", "l’ Ouest"),  # a stray space after the apostrophe is the data's, but the mark is still French
        ("voir https://x.org/l'a", "voir https://x.org/l'a"),  # never inside a URL
        ("12'30", "12'30"),  # minutes, not an apostrophe
        ("l’Ouest", "l’Ouest"),
        ("dépasse 100 %.", f"dépasse 100{NBSP}%."),
        ("100%", "100%"),  # no space is inserted: CSS values (width: 30%) go through the same filter
        (f"12{NNBSP}%", f"12{NNBSP}%"),
        ("150 000 €", f"150 000{NBSP}€"),
        ("https://x.org/?a=50%20b", "https://x.org/?a=50%20b"),
    ],
)
def test_french_apostrophe_and_units(text, expected):
    assert french(text) == expected


def test_french_apostrophe_not_in_code():
    assert french_html("<p>l'Ouest <code>a='b'</code></p>") == "<p>l’Ouest <code>a='b'</code></p>"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the evaluation's total", "the evaluation’s total"),
        ("'quoted'", "'quoted'"),  # quotation marks are not apostrophes
        ("5'", "5'"),
        (f"Note{NBSP}: see", "Note: see"),  # French spacing removed from English text
        (f"Why{NNBSP}?", "Why?"),
        ("see https://x.org/it's", "see https://x.org/it's"),
    ],
)
def test_english(text, expected):
    assert english(text) == expected
    assert english(expected) == expected


def test_english_html_leaves_code():
    assert english_html("<p>it's <code>it's</code></p>") == "<p>it’s <code>it’s</code></p>".replace(
        "<code>it’s", "<code>it's")


def test_parts_in_another_language_get_their_own_typography():
    page = '<p>Action: <span lang="fr">Afrique de l\'Ouest : « traite »</span>; it\'s.</p>'
    out = typeset_parts(page, "en")
    assert out == (f'<p>Action: <span lang="fr">Afrique de l’Ouest{NBSP}: «{NBSP}traite{NBSP}»</span>; '
                   "it's.</p>")  # the page's own text is finalize's job
    fr_page = f'<p>Note{NBSP}: <span lang="en">Note{NBSP}: it’s <em>ok{NNBSP}!</em></span> fin{NNBSP}!</p>'
    assert typeset_parts(fr_page, "fr") == f'<p>Note{NBSP}: <span lang="en">Note: it’s <em>ok!</em></span> fin{NNBSP}!</p>'
    same = '<p lang="en">it\'s</p>'
    assert typeset_parts(same, "en") == same  # nothing in another language: unchanged, byte for byte


# The rules run on every printed value and on every text node of a macro's output, with the text around it: a quick
# test skips the pieces no rule can change. It must never skip one that a rule changes.
_PIECES = st.lists(st.sampled_from([
    "a", "e", "r", "1er", "er", "n°", "N°", "°", "5", "12", "'", "’", ";", ":", "!", "?", "«", "»", "%", "€", ".",
    ",", ")", "(", " ", "\t", NBSP, NNBSP, "\u2009", "\u2007", "\n", "janvier", "mai", "http://x.fr/a;b", "a@b.fr",
    "<", "&",
]), max_size=8).map("".join)


@settings(max_examples=examples(3000), deadline=None)
@given(text=_PIECES, before=_PIECES, after=_PIECES)
def test_the_quick_test_never_skips_a_piece_the_rules_change(text, before, after):
    from reportgen import typography as t

    assert t._french_in_context(text, before, after) == t._french_rules(text, before, after)
    assert t._english_in_context(text, before, after) == t._english_rules(text, before, after)


def test_the_quick_test_skips_plain_pieces():
    from reportgen import typography as t

    assert not t._french_may_change("Djibouti", "Pays : ", "")
    assert not t._french_may_change("12 345", "", " actions")
    assert t._french_may_change("Total ", "", ": 12")  # a space before a mark that opens the next piece
    assert t._french_may_change("12 ", "", "%")
    assert not t._english_may_change("Djibouti", "")
