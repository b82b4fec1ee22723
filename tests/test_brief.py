"""`reportgen brief CODE --lang LANG`: one brief on its own, byte-identical to the one a full build makes."""

from __future__ import annotations

import pytest

from reportgen import build
from reportgen.cli import main
from reportgen.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("build-stages")]  # renders PDFs


@pytest.fixture(scope="module")
def full_build(tmp_path_factory, tiny_data_root):
    """The tiny dataset built stage by stage in French, as the workflow does."""
    s = Settings.from_mapping({"data": str(tiny_data_root), "output": str(tmp_path_factory.mktemp("full")),
                               "languages": ["fr"]})
    build.stage_prepare(s, quiet=True)
    build.stage_render(s, 0, jobs=2)
    build.stage_index(s)
    return s


@pytest.mark.parametrize("code, stem", [("NGA", "fr/countries/NGA"), ("west-africa", "fr/regions/west-africa"),
                                        ("nga", "fr/countries/NGA")])
def test_a_brief_on_its_own_is_the_brief_of_a_full_build(full_build, tiny_data_root, tmp_path, capsys, code, stem):
    out = tmp_path / "alone"
    # The build's config (French only) as flags: the brief links the versions the build publishes (none other).
    assert main(["brief", code, "--lang", "fr", "--data", str(tiny_data_root), "--output", str(out),
                 "--languages", "fr"]) == 0
    for ext in (".pdf", ".html"):
        assert (out / f"{stem}{ext}").read_bytes() == (full_build.output / f"{stem}{ext}").read_bytes(), ext
    published = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pdf"))
    assert published == [f"{stem}.pdf"]  # that brief and nothing else
    err = capsys.readouterr().err
    assert f"{stem}.pdf" in err
    assert "prepared" not in err  # the prepare stage's count of publications is not this command's business


def test_an_unknown_code_is_an_error_that_lists_the_known_ones(tiny_data_root, tmp_path, capsys):
    assert main(["brief", "FRA", "--lang", "en", "--data", str(tiny_data_root), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "ERROR: there is no country 'FRA' with at least one action" in err
    assert "ALB, CHN, CIV, NGA, XKX" in err and "Traceback" not in err
    # A brief that fails publishes nothing: no stylesheet or font either (the state machine found a failed brief
    # that replaced the published country.css by an override's copy).
    out = tmp_path / "o"
    assert not (out / "assets").exists()
    assert not [p for p in out.rglob("*") if p.suffix in (".pdf", ".css", ".ttf")]


def test_a_code_of_neither_form_is_an_error(tiny_data_root, tmp_path, capsys):
    assert main(["brief", "Nig eria", "--lang", "fr", "--data", str(tiny_data_root), "--output", str(tmp_path)]) == 2
    assert "is neither a country code" in capsys.readouterr().err
