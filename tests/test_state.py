"""The build state (reportgen.state) is versioned and never trusted blindly; the index stage leaves the output
folder holding exactly the plan's publications (reportgen.publish.remove_stale), and a build of fewer languages
keeps the others in the state for a later build (reportgen.worker.restore_cached)."""

from __future__ import annotations

import json

import pytest

from reportgen import build, state
from reportgen.errors import ReportgenError
from reportgen.model import Doc
from reportgen.plan import PLAN_VERSION
from reportgen.publish import published_documents, remove_stale
from reportgen.settings import Settings
from reportgen.worker import restore_cached


def settings(data, out, **extra) -> Settings:
    return Settings.from_mapping({"data": str(data), "output": str(out), **extra})


def test_prepare_wipes_a_state_of_another_version_and_writes_its_own(tiny_dataset_dir, tmp_path):
    out = tmp_path / "out"
    s = settings(tiny_dataset_dir, out, languages=["fr"])
    doc = Doc("fr", "country", "NGA")
    state.write_json(state.version_path(out), {"state": state.STATE_VERSION - 1, "reportgen": "0.0.1"})
    state.write_json(state.doc_state_path(out, doc), {"key": "from another version"})
    (state.state_dir(out) / state.LOGS).mkdir(parents=True)
    (state.state_dir(out) / state.LOGS / "prepare.log").write_text("Snakemake's log\n")
    build.stage_prepare(s, quiet=True)
    assert state.version_ok(out)
    assert state.read_doc_state(out, doc) is None  # not trusted: wiped
    assert (state.state_dir(out) / state.LOGS / "prepare.log").read_text() == "Snakemake's log\n"
    assert state.read_plan(out)["languages"] == ["fr"]


@pytest.mark.parametrize("content", ["not json", json.dumps({"state": 999, "reportgen": "9"}), None])
def test_an_unreadable_or_missing_version_is_another_version(tmp_path, content):
    out = tmp_path / "out"
    if content is not None:
        state.state_dir(out).mkdir(parents=True)
        state.version_path(out).write_text(content)
    assert not state.version_ok(out)
    state.ensure_version(out)
    assert state.version_ok(out)
    assert state.ensure_version(out) is False  # now trusted: nothing wiped


def _stage_results(out) -> None:
    state.ensure_version(out)
    state.write_json(state.plan_path(out), {"version": PLAN_VERSION, "languages": ["fr"], "shards": 1,
                                            "documents": [], "epoch": 0, "started": 0})
    state.model_path(out).write_bytes(b"not a pickle")
    state.write_json(state.shard_manifest(out, 0), {"documents": []})
    state.index_done_path(out).write_text("")


def test_a_plan_of_another_version_is_refused_and_the_workflow_results_removed(tmp_path):
    out = tmp_path / "out"
    _stage_results(out)
    state.write_json(state.plan_path(out), {"version": PLAN_VERSION + 1, "documents": []})
    with pytest.raises(ReportgenError, match="another version of reportgen and was reset; run the whole workflow"):
        state.read_plan(out)
    assert not state.plan_path(out).exists() and not state.index_done_path(out).exists()
    assert not state.shard_manifest(out, 0).exists()


def test_a_plan_in_a_state_of_another_version_is_refused(tmp_path):
    out = tmp_path / "out"
    _stage_results(out)
    state.read_plan(out)  # trusted
    state.write_json(state.version_path(out), {"state": state.STATE_VERSION + 1, "reportgen": "x"})
    with pytest.raises(ReportgenError, match="was reset"):
        state.read_plan(out)


def test_an_unreadable_pickle_resets_the_workflow_results_with_a_clear_error(tmp_path):
    out = tmp_path / "out"
    _stage_results(out)
    with pytest.raises(ReportgenError, match=r"cannot read the prepared model .* the build state was reset: run "
                                             r"the build again"):
        state.read_pickle(state.model_path(out), "prepared model")
    assert not state.plan_path(out).exists() and not state.model_path(out).exists()


def test_commit_snapshot_moves_the_history_only_when_the_content_changed(tmp_path):
    out = tmp_path / "out"
    state.state_dir(out).mkdir(parents=True)
    assert state.commit_snapshot(out) is False  # nothing pending
    state.pending_snapshot_path(out).write_text("A\n")
    assert state.commit_snapshot(out) is True
    assert state.snapshot_path(out).read_text() == "A\n" and not state.snapshot_path(out, previous=True).exists()
    state.pending_snapshot_path(out).write_text("A\n")
    assert state.commit_snapshot(out) is False and not state.pending_snapshot_path(out).exists()
    state.pending_snapshot_path(out).write_text("B\n")
    assert state.commit_snapshot(out) is True
    assert state.snapshot_path(out).read_text() == "B\n"
    assert state.snapshot_path(out, previous=True).read_text() == "A\n"


def _publish(out, doc: Doc, text: str) -> dict:
    for ext in (".html", ".pdf"):
        p = out / f"{doc.stem}{ext}"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"{text}{ext}")
    st = {"key": text, "html": state.file_signature(out / f"{doc.stem}.html"),
          "pdf": state.file_signature(out / f"{doc.stem}.pdf")}
    state.write_json(state.doc_state_path(out, doc), st)
    return st


def test_the_output_holds_exactly_the_plans_publications_and_other_languages_are_cached(tmp_path):
    out = tmp_path / "out"
    s = settings(tmp_path, out)
    fr_nga, en_nga, fr_gone = Doc("fr", "country", "NGA"), Doc("en", "country", "NGA"), Doc("fr", "country", "CIV")
    en_state = _publish(out, en_nga, "en-key")
    _publish(out, fr_nga, "fr-key")
    _publish(out, fr_gone, "gone")
    (out / "fr" / "countries" / "notes.txt").write_text("not a publication")
    plan = {"languages": ["fr"], "documents": [{"key": fr_nga.key, "shard": 0}]}
    assert published_documents(out) == {fr_nga.key, en_nga.key, fr_gone.key}
    removed = remove_stale(s, plan)
    assert sorted(removed) == sorted([en_nga.key, fr_gone.key])
    assert published_documents(out) == {fr_nga.key}
    assert (out / "fr" / "countries" / "notes.txt").is_file()
    # The removed country is gone with its state; the other language waits in the cache with its state.
    assert state.read_doc_state(out, fr_gone) is None
    assert state.read_doc_state(out, en_nga) == en_state
    assert state.cached_path(out, en_nga, ".pdf").read_text() == "en-key.pdf"
    # A later build of English puts it back, same bytes and signatures: nothing to render.
    assert restore_cached(out, en_nga, en_state) is True
    assert state.file_signature(out / f"{en_nga.stem}.pdf") == en_state["pdf"]
    assert not state.cached_path(out, en_nga, ".pdf").exists()


def test_a_cached_publication_whose_files_changed_is_not_restored(tmp_path):
    out = tmp_path / "out"
    s = settings(tmp_path, out)
    en_nga = Doc("en", "country", "NGA")
    en_state = _publish(out, en_nga, "en-key")
    remove_stale(s, {"languages": ["fr"], "documents": []})
    state.cached_path(out, en_nga, ".pdf").write_text("tampered")
    assert restore_cached(out, en_nga, en_state) is False
    assert not (out / f"{en_nga.stem}.pdf").exists()
    # A build of English that does not put it back (it rendered it) clears the cache of that language.
    remove_stale(s, {"languages": ["fr", "en"], "documents": []})
    assert not (state.cache_dir(out) / "en").exists()


def _replace(out, doc: Doc, text: str) -> dict:
    """What a render does to a published publication: keep the render it replaces, then write new files (new
    inodes, as atomic writes make) and their state."""
    state.keep_render(out, doc)
    for ext in (".html", ".pdf"):
        (out / f"{doc.stem}{ext}").unlink()
    return _publish(out, doc, text)


def test_a_replaced_render_is_put_back_when_its_key_comes_back(tmp_path):
    out = tmp_path / "out"
    doc = Doc("fr", "country", "NGA")
    ua = _publish(out, doc, "ua-key")
    a3 = _replace(out, doc, "a3-key")
    assert state.restore_render(out, doc, "other-key") is None
    assert state.restore_render(out, doc, "ua-key") == ua
    # The same bytes, size and modification time as that render left: its state describes the files again.
    assert (out / f"{doc.stem}.pdf").read_text() == "ua-key.pdf"
    assert state.read_doc_state(out, doc) == ua
    assert state.file_signature(out / f"{doc.stem}.pdf") == ua["pdf"]
    assert not list(out.rglob(".*.part"))
    # The render it replaced is kept in turn: a-3u again is put back too.
    assert state.restore_render(out, doc, "a3-key") == a3
    assert (out / f"{doc.stem}.pdf").read_text() == "a3-key.pdf"


def test_the_oldest_kept_render_can_be_put_back(tmp_path):
    """Putting a render back keeps the one it replaces, which prunes the oldest: the one being put back."""
    out = tmp_path / "out"
    doc = Doc("fr", "synthesis")
    first = _publish(out, doc, "k0")
    _replace(out, doc, "k1")
    _replace(out, doc, "k2")
    assert sorted(p.stem for p in state.renders_dir(out, doc).glob("*.json")) == ["k0", "k1"]
    assert state.restore_render(out, doc, "k0") == first
    assert (out / f"{doc.stem}.pdf").read_text() == "k0.pdf"
    assert state.file_signature(out / f"{doc.stem}.html") == first["html"]
    assert sorted(p.stem for p in state.renders_dir(out, doc).glob("*.json")) == ["k1", "k2"]


def test_only_the_latest_renders_are_kept_and_never_files_their_state_does_not_describe(tmp_path):
    out = tmp_path / "out"
    doc = Doc("en", "synthesis")
    _publish(out, doc, "k0")
    for i in range(1, 5):
        _replace(out, doc, f"k{i}")
    kept = sorted(p.stem for p in state.renders_dir(out, doc).glob("*.json"))
    assert kept == ["k2", "k3"] and state.KEPT_RENDERS == 2
    (out / f"{doc.stem}.pdf").write_text("edited by hand")  # the state no longer describes it
    assert state.keep_render(out, doc) is False
    # A kept render whose files changed is not put back.
    (state.renders_dir(out, doc) / "k3.pdf").write_text("tampered")
    assert state.restore_render(out, doc, "k3") is None
    # A publication the plan no longer calls for leaves with its kept renders.
    remove_stale(settings(tmp_path, out), {"languages": ["en"], "documents": []})
    assert not state.renders_dir(out, doc).exists()


@pytest.mark.slow  # renders a PDF
@pytest.mark.xdist_group("build-stages")
def test_a_brief_writes_nothing_of_the_workflows_state(tiny_dataset_dir, tmp_path):
    """`reportgen brief` works in memory: it leaves no plan, model or catalogue a later build would trust."""
    from reportgen.brief import build_brief

    out = tmp_path / "out"
    s = settings(tiny_dataset_dir, out)
    build.stage_prepare(s, quiet=True)
    assert state.plan_path(out).is_file()
    build_brief(s, "CHN", "en")
    assert (out / "en" / "countries" / "CHN.pdf").is_file()
    assert state.read_doc_state(out, Doc("en", "country", "CHN"))["pdf"] == state.file_signature(
        out / "en" / "countries" / "CHN.pdf")
    for path in (state.plan_path(out), state.model_path(out), state.catalog_path(out), state.index_done_path(out)):
        assert not path.exists(), path
