"""`reportgen init DIR`: a minimal, valid, commented skeleton dataset; never overwrites."""

from __future__ import annotations

from reportgen.cli import main
from reportgen.init import skeleton_files
from reportgen.validate import validate_dataset


def test_init_writes_a_valid_dataset_declaring_its_vocabulary(tmp_path, capsys):
    folder = tmp_path / "new"
    assert main(["init", str(folder)]) == 0
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == \
        sorted(skeleton_files())
    result = validate_dataset(folder)
    assert result.ok and [p.rule for p in result.problems] == ["no_amount"]  # the example of a missing amount
    ev = result.dataset.evaluation
    assert ev.theme_codes == ("education", "health")
    assert ev.criterion_codes == ("relevance", "added_value")
    assert ev.channel_codes == ("grant", "regional")
    text = (folder / "evaluation.yaml").read_text(encoding="utf-8")
    for key in ("funder:", "themes:", "themes_title:", "criteria:", "scale:", "channels:"):
        assert key in text and "Leave" in text  # each key explained, with what leaving it out means
    assert "reportgen validate" in capsys.readouterr().err


def test_init_refuses_to_overwrite(tmp_path, capsys):
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "evaluation.yaml").write_text("mine", encoding="utf-8")
    assert main(["init", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and "evaluation.yaml" in err and "nothing was written" in err
    assert (folder / "evaluation.yaml").read_text(encoding="utf-8") == "mine"
    assert not (folder / "actions.csv").exists()
