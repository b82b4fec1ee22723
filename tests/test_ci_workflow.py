"""The GitHub Actions workflow that builds and publishes (.github/workflows/publish.yml) and its documentation."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
DOC = ROOT / "docs" / "ci.md"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def triggers(wf: dict) -> dict:
    return wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as true


def step_index(steps: list[dict], predicate, what: str) -> int:
    found = [i for i, s in enumerate(steps) if predicate(s)]
    assert found, f"no step {what}"
    return found[0]


def runs(step: dict, text: str) -> bool:
    return text in step.get("run", "")


def uses(step: dict, action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def test_triggers_on_push_pull_request_and_version_tags(workflow):
    on = triggers(workflow)
    assert set(on) == {"push", "pull_request"}
    assert on["push"]["tags"] == ["v*"]
    assert on["push"]["branches"] == ["**"]


def test_least_privilege_only_the_release_job_may_write(workflow):
    assert workflow["permissions"] == {"contents": "read"}
    writers = [name for name, job in workflow["jobs"].items() if job.get("permissions", {}).get("contents") == "write"]
    assert writers == ["release"]
    assert workflow["jobs"]["release"]["permissions"] == {"contents": "write"}


def test_build_job_installs_validates_builds_with_cache_and_uploads(workflow):
    steps = workflow["jobs"]["build"]["steps"]
    checkout = step_index(steps, lambda s: uses(s, "actions/checkout"), "checking out")
    python = step_index(steps, lambda s: uses(s, "actions/setup-python"), "setting up Python")
    assert str(steps[python]["with"]["python-version"]) == "3.11"
    assert steps[python]["with"]["cache"] == "pip"
    apt = step_index(steps, lambda s: runs(s, "apt-get install"), "installing Debian packages")
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fontconfig"):
        assert package in steps[apt]["run"].split()
    install = step_index(steps, lambda s: runs(s, "pip install -e ."), "installing reportgen")
    validate = step_index(steps, lambda s: s.get("run", "").strip() == "reportgen validate data", "validating")
    cache = step_index(steps, lambda s: uses(s, "actions/cache"), "restoring the cache")
    build = step_index(steps, lambda s: s.get("run", "").strip() == "snakemake --cores all", "building")
    upload = step_index(steps, lambda s: uses(s, "actions/upload-artifact"), "uploading")
    assert checkout < python < apt < install < validate < build < upload
    assert cache < build

    c = steps[cache]["with"]
    assert c["path"].split() == [".snakemake/", "output/"]
    assert "github.sha" in c["key"]
    restore = c["restore-keys"].splitlines()
    assert restore and all(c["key"].startswith(r) for r in restore)  # prefixes of the key: the latest build

    u = steps[upload]["with"]
    assert u["path"].split() == ["output/", "!output/.reportgen/"]
    assert u["if-no-files-found"] == "error"


def test_release_runs_on_version_tags_only_and_attaches_pdfs_and_workbook(workflow):
    release = workflow["jobs"]["release"]
    assert release["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert release["needs"] == "build"
    assert "if" not in workflow["jobs"]["build"]
    script = "\n".join(s.get("run", "") for s in release["steps"])
    assert "*.pdf" in script and "data/figures.xlsx" in script
    assert "gh release create" in script and "gh release upload" in script
    assert any(uses(s, "actions/download-artifact") and s["with"]["name"] == "publications"
               for s in release["steps"])
    env = next(s["env"] for s in release["steps"] if "gh release" in s.get("run", ""))
    assert env["GH_TOKEN"] == "${{ github.token }}"


def test_every_action_is_pinned_to_a_major_version(workflow):
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def _scripts(workflow: dict):
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "run" in step:
                # GitHub expressions are replaced before the shell sees the script
                yield f"{name}: {step.get('name')}", re.sub(r"\$\{\{[^}]*\}\}", "x", step["run"])


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_every_run_script_is_valid_bash(workflow):
    for where, script in _scripts(workflow):
        result = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, f"{where}: {result.stderr}"


def test_release_assets_get_flat_unique_names(workflow, tmp_path):
    """Run the release job's collecting script on a fake artefact: PDFs of every folder, the workbook."""
    step = next(s for s in workflow["jobs"]["release"]["steps"] if "mkdir -p release" in s.get("run", ""))
    out = tmp_path / "output"
    for rel in ("fr/synthesis.pdf", "en/synthesis.pdf", "fr/countries/NGA.pdf", "en/countries/NGA.pdf",
                "fr/regions/west-africa.pdf", "data/figures.xlsx", "fr/synthesis.html", "data/totals.csv"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(rel)
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assets = {p.name: p.read_text() for p in (tmp_path / "release").iterdir()}
    assert assets == {
        "fr-synthesis.pdf": "fr/synthesis.pdf", "en-synthesis.pdf": "en/synthesis.pdf",
        "fr-countries-NGA.pdf": "fr/countries/NGA.pdf", "en-countries-NGA.pdf": "en/countries/NGA.pdf",
        "fr-regions-west-africa.pdf": "fr/regions/west-africa.pdf", "figures.xlsx": "data/figures.xlsx",
    }


def test_the_changes_summary_step_reads_the_report(workflow, tmp_path):
    """The job summary step prints the build's changes.json through reportgen.changes.report_text."""
    import json

    step = next(s for s in workflow["jobs"]["build"]["steps"] if "changes.json" in s.get("run", ""))
    assert step["if"] == "hashFiles('output/changes.json') != ''"
    (tmp_path / "output").mkdir()
    report = {"first_build": True, "counts": {"publications": 18, "changed": 0, "added": 0, "removed": 0,
                                              "unchanged": 0}, "publications": []}
    (tmp_path / "output" / "changes.json").write_text(json.dumps(report))
    script = step["run"].replace('"$GITHUB_STEP_SUMMARY"', "summary.md")
    script = script.replace("python -c", f"{shutil.which('python') or 'python3'} -c")
    result = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("```text\n") and "no earlier build to compare with: 18 publications" in summary


# ----------------------------------------------------------------------------------------------------------------
# docs/ci.md
# ----------------------------------------------------------------------------------------------------------------

def test_the_documentation_gives_the_commands_the_workflow_runs():
    doc = DOC.read_text(encoding="utf-8")
    for command in ("pip install -e .", "reportgen validate data", "snakemake --cores all",
                    "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig", "git tag", "v*"):
        assert command in doc, command


def test_the_gitlab_equivalent_is_valid_and_complete():
    doc = DOC.read_text(encoding="utf-8")
    section = doc.split("## GitLab CI", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "no yaml block in the GitLab section"
    ci = yaml.safe_load(block.group(1))
    publish, release = ci["publish"], ci["release"]
    assert publish["script"] == ["reportgen validate data", "snakemake --cores all"]
    assert "pip install -e ." in publish["before_script"]
    assert {".snakemake/", "output/"} <= set(publish["cache"]["paths"])
    assert publish["artifacts"]["paths"] == ["output/"]
    assert publish["artifacts"]["exclude"] == ["output/.reportgen/**/*"]
    assert release["rules"] == [{"if": "$CI_COMMIT_TAG =~ /^v/"}]
    assert release["needs"] == ["publish"]
    assert release["release"]["tag_name"] == "$CI_COMMIT_TAG"
    links = release["release"]["assets"]["links"]
    assert any("figures.xlsx" in link["url"] for link in links)
    assert all(link["url"].startswith("$CI_PROJECT_URL/-/jobs/artifacts/$CI_COMMIT_TAG/") for link in links)
