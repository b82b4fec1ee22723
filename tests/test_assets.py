"""The dataset-image rule (assets.py): one rule decides which images are published, which a page links, and what
validation warns about — an image the rule leaves out is never linked from a page."""

from __future__ import annotations

from pathlib import Path

from datasets import TINY_DATASET, write_dataset

from reportgen import assets
from reportgen.assets import (
    MAX_DATA_IMAGE_BYTES,
    copy_assets,
    dataset_images,
    image_url,
)
from reportgen.settings import templates_root
from reportgen.validate import validate_dataset

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _dataset(tmp_path: Path, extra: dict[str, str | bytes]) -> Path:
    return write_dataset(tmp_path / "data", {**TINY_DATASET, **extra})


def test_the_rule_publishes_small_images_of_the_allowed_types_only(tmp_path):
    data = _dataset(tmp_path, {
        "assets/map.png": PNG,
        "assets/maps/route.SVG": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        "assets/big.png": PNG + b"\0" * MAX_DATA_IMAGE_BYTES,
        "assets/notes.txt": "not an image",
        "assets/.hidden.png": PNG,
        "assets/with space.png": PNG,
    })
    (data / "assets" / "link.png").symlink_to(data / "assets" / "map.png")
    assert sorted(dataset_images(data)) == ["map.png", "maps/route.SVG"]


def test_an_image_over_the_cap_is_neither_published_nor_linked_and_validation_says_so(tmp_path):
    """The bug of issue 10: an image over 5 MiB was linked from the page but never published."""
    from reportgen.aggregate import compute_figures
    from reportgen.context import RenderSettings, build_context
    from reportgen.model import Doc

    data = _dataset(tmp_path, {
        "assets/map.png": PNG,
        "assets/big.png": PNG + b"\0" * MAX_DATA_IMAGE_BYTES,
        "narrative/en/countries/NGA.md": "![Routes](assets/map.png)\n\n![Huge map](assets/big.png)\n",
    })
    result = validate_dataset(data)
    assert result.ok
    warnings = [p for p in result.problems if p.rule == "image_not_published"]
    assert {(p.file, p.row, p.value) for p in warnings} == {
        ("assets/big.png", None, "big.png"),
        ("narrative/en/countries/NGA.md", 3, "assets/big.png"),
    }
    assert all("5 MiB" in p.message for p in warnings)

    out = tmp_path / "out"
    copy_assets([templates_root()], data, out)
    assert (out / "assets" / "data" / "map.png").read_bytes() == PNG
    assert not (out / "assets" / "data" / "big.png").exists()

    ds = result.dataset
    settings = RenderSettings(narrative_images=frozenset(dataset_images(data)))
    html = build_context(Doc("en", "country", "NGA"), ds, compute_figures(ds), settings=settings)["narrative"]
    assert '<img src="../../assets/data/map.png" alt="Routes"' in html
    assert "big.png" not in html and "Huge map" in html  # its text alternative, no link to a missing file


def test_a_narrative_image_that_names_no_file_is_a_warning_with_its_line(tmp_path):
    data = _dataset(tmp_path, {"narrative/fr/synthesis.md": "## Contexte\n\nTexte.\n\n![Carte](assets/carte.png)\n"})
    warnings = [p for p in validate_dataset(data).problems if p.rule == "image_not_published"]
    assert [(p.file, p.row, p.value) for p in warnings] == [("narrative/fr/synthesis.md", 5, "assets/carte.png")]
    assert "no such file" in warnings[0].message


def test_image_url_follows_the_rule():
    published = frozenset({"map.png", "maps/route.svg"})
    assert image_url("assets/map.png", published, "../../") == "../../assets/data/map.png"
    assert image_url("assets/maps/route.svg", published, "") == "assets/data/maps/route.svg"
    assert image_url("assets/other.png", published, "") is None
    assert image_url("assets/../secret.png", published | {"../secret.png"}, "") is None
    assert image_url("https://example.org/map.png", published, "") is None


def test_copy_assets_removes_what_is_no_longer_published(tmp_path):
    data = _dataset(tmp_path, {"assets/map.png": PNG})
    out = tmp_path / "out"
    copy_assets([templates_root()], data, out)
    assert (out / "assets" / "data" / "map.png").is_file()
    (data / "assets" / "map.png").unlink()
    copy_assets([templates_root()], data, out)
    assert not (out / "assets" / "data" / "map.png").exists()
    assert (out / "assets" / "css" / "common.css").is_file()
    assert assets.PUBLISHED_DATA_IMAGES == "assets/data/"
