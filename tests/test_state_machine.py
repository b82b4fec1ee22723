"""The build state stays true: any sequence of commands leaves what a clean build of the current inputs would.

A stateful property-based test (Hypothesis's ``RuleBasedStateMachine``) drives the real commands on a small dataset
(one region, one country, fr + en: six publications, PDFs rendered): workflow builds, builds interrupted (Ctrl-C,
SIGTERM, SIGKILL then ``--unlock``), ``reportgen brief`` (any code, language), ``reportgen validate --output``,
``reportgen diff``, and changes of the inputs between them: ``languages`` narrowed and widened, ``pdf_variant``,
a stylesheet override added and removed, the dataset folder switched to another evaluation and back, a country
added and removed, a dataset with an error. After every build, the output folder holds byte for byte what a clean
build of the current inputs holds (``changes.*`` aside: history), and ``changes.json`` lists exactly the
publications whose published content differs from the previous published build. After the other commands, nothing
published changed but what they make, and what they make is the clean build's.

Clean builds are made once per input configuration and kept for the whole run (``CLEAN``). The number of sequences
and their length are bounded (``SM_EXAMPLES``, ``SM_STEPS`` in the environment raise them); every sequence the
machine ever found failing is kept below as a plain test, with the issue's brief-then-build sequence.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from datasets import write_dataset
from reportgen import state
from state_machine_data import dataset

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("workflow")]

#: Published files whose content is history (what changed since the previous build), not a function of the inputs.
HISTORY = {"changes.json", "changes.html"}
#: The dataset folders' names (the validation page shows a folder's name, so clean builds use the same names).
FOLDER_NAME = {"a": "data", "b": "other-data"}
#: A stylesheet override: one rule more for the country briefs.
OVERRIDE_CSS = "\n/* local */ h1 { letter-spacing: 0.01em; }\n"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What a build depends on: the dataset (folder a's content, or folder b's other evaluation) and the config."""

    content_a: str = "base"  # base | plus | broken
    folder: str = "a"  # a | b
    languages: tuple[str, ...] = ()  # () = the evaluation's (fr, en)
    pdf_variant: str = "pdf/ua-1"
    override: bool = False

    @property
    def content(self) -> str:
        return self.content_a if self.folder == "a" else "other"

    @property
    def published_languages(self) -> tuple[str, ...]:
        return self.languages or ("fr", "en")


def make_override(folder: Path) -> Path:
    original = (ROOT / "templates" / "css" / "country.css").read_text(encoding="utf-8")
    (folder / "css").mkdir(parents=True, exist_ok=True)
    (folder / "css" / "country.css").write_text(original + OVERRIDE_CSS, encoding="utf-8")
    return folder


def config_args(inputs: Inputs, data: Path, out: Path, override: Path) -> list[str]:
    args = [f"data={data}", f"output={out}", f"pdf_variant={inputs.pdf_variant}"]
    if inputs.languages:
        args.append("languages=[" + ",".join(inputs.languages) + "]")
    if inputs.override:
        args.append(f"templates={override}")
    return args


def snakemake_cmd(inputs: Inputs, data: Path, out: Path, override: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
            *extra, "--config", *config_args(inputs, data, out, override)]


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env=ENV)


def published(out: Path) -> dict[str, bytes]:
    """Every published file (the hidden build state and temporary files excluded) and its bytes."""
    files = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            files[rel.as_posix()] = p.read_bytes()
    return files


def without_history(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if k not in HISTORY}


#: Clean builds, one per input configuration, kept for the whole test run: (content, config) → output folder.
CLEAN: dict[tuple, Path] = {}
_CLEAN_ROOT: list[Path] = []
#: Steps the machines ran in this test run (said at the end of the property test).
STEPS_RUN = [0]


@pytest.fixture(scope="module", autouse=True)
def _remove_clean_builds():
    yield
    for root in _CLEAN_ROOT:
        shutil.rmtree(root, ignore_errors=True)
    _CLEAN_ROOT.clear()
    CLEAN.clear()


def clean_build(inputs: Inputs) -> Path:
    """The output of a clean build of ``inputs`` (made once per configuration in a test run)."""
    key = (inputs.content, inputs.languages, inputs.pdf_variant, inputs.override)
    if key not in CLEAN:
        if not _CLEAN_ROOT:
            _CLEAN_ROOT.append(Path(tempfile.mkdtemp(prefix="reportgen-clean-")))
        base = _CLEAN_ROOT[0] / hashlib.sha256(repr(key).encode()).hexdigest()[:16]
        shutil.rmtree(base, ignore_errors=True)
        data = write_dataset(base / FOLDER_NAME[inputs.folder], dataset(inputs.content))
        override = make_override(base / "override")
        out = base / "out"
        proc = run(snakemake_cmd(inputs, data, out, override))
        assert proc.returncode == 0, f"clean build failed:\n{proc.stderr[-4000:]}"
        CLEAN[key] = out
    return CLEAN[key]


def snapshot_of(out: Path) -> dict:
    """What a build publishes, as the changes report sees it (its committed snapshot)."""
    return json.loads(state.snapshot_path(out).read_text(encoding="utf-8"))["publications"]


def differing(old: dict | None, new: dict) -> set[str]:
    """The publications whose published content differs between two snapshots (added and removed included)."""
    if old is None:
        return set()
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


class BuildStateMachine(RuleBasedStateMachine):
    """One output folder, the commands users run on it, and inputs that change between them."""

    def __init__(self):
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="reportgen-sm-"))
        self.data = {f: self.root / FOLDER_NAME[f] for f in ("a", "b")}
        write_dataset(self.data["a"], dataset("base"))
        write_dataset(self.data["b"], dataset("other"))
        self.override = make_override(self.root / "override")
        self.out = self.root / "out"
        self.inputs = Inputs()
        self.built: Inputs | None = None  # the inputs the output folder was last built from, when known
        self.history: list[dict] = []  # published snapshots, one per published change (what changes.json compares)
        self.steps: list[str] = []

    def teardown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    # ----------------------------------------------------------------------------------------------------------
    # Helpers
    # ----------------------------------------------------------------------------------------------------------

    def say(self, step: str) -> None:
        self.steps.append(step)
        STEPS_RUN[0] += 1

    def snakemake(self, *extra: str) -> subprocess.CompletedProcess:
        return run(snakemake_cmd(self.inputs, self.data[self.inputs.folder], self.out, self.override, *extra))

    def reportgen(self, *args: str) -> subprocess.CompletedProcess:
        return run([sys.executable, "-m", "reportgen.cli", *args])

    def settings_args(self) -> list[str]:
        args = ["--data", str(self.data[self.inputs.folder]), "--output", str(self.out),
                f"--pdf-variant={self.inputs.pdf_variant}"]
        if self.inputs.override:
            args.append(f"--templates={self.override}")
        return args

    def fail(self, message: str, proc: subprocess.CompletedProcess | None = None) -> None:
        tail = f"\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-5000:]}" if proc is not None else ""
        raise AssertionError(f"{message}\nsteps: {self.steps}{tail}")

    def no_traceback(self, proc: subprocess.CompletedProcess) -> None:
        if "Traceback" in proc.stdout + proc.stderr:
            self.fail("a command printed a traceback", proc)

    def check_equals_clean(self, what: str) -> None:
        """The whole output is the clean build's, byte for byte (history aside)."""
        expected = without_history(published(clean_build(self.inputs)))
        actual = without_history(published(self.out))
        if actual != expected:
            missing = sorted(set(expected) - set(actual))
            extra = sorted(set(actual) - set(expected))
            differ = sorted(k for k in set(actual) & set(expected) if actual[k] != expected[k])
            self.fail(f"after {what}, the output differs from a clean build: missing {missing}, extra {extra}, "
                      f"different {differ}")
        leftovers = [p for p in self.out.rglob(".*.part")]
        if leftovers:
            self.fail(f"after {what}, temporary files remain: {leftovers}")

    def check_changes(self) -> None:
        """changes.json lists exactly the publications whose published content differs from the previous published
        build (the last one that published something different)."""
        current = snapshot_of(self.out)
        if not self.history or self.history[-1] != current:
            self.history.append(current)
        previous = self.history[-2] if len(self.history) > 1 else None
        report = json.loads((self.out / "changes.json").read_text(encoding="utf-8"))
        listed = {p["key"] for p in report["publications"]}
        expected = differing(previous, current)
        if listed != expected:
            self.fail(f"changes.json lists {sorted(listed)}, but the published content that differs from the "
                      f"previous published build is {sorted(expected)}")

    # ----------------------------------------------------------------------------------------------------------
    # Rules: inputs
    # ----------------------------------------------------------------------------------------------------------

    @initialize()
    def first_build(self):
        self.build()

    @rule(content=st.sampled_from(["base", "plus", "broken"]))
    def edit_dataset(self, content):
        """A country added or removed, an error made or fixed (in folder a, whichever folder is used)."""
        self.say(f"edit_dataset({content})")
        shutil.rmtree(self.data["a"])
        write_dataset(self.data["a"], dataset(content))
        self.inputs = dataclasses.replace(self.inputs, content_a=content)

    @rule(folder=st.sampled_from(["a", "b"]))
    def switch_folder(self, folder):
        self.say(f"switch_folder({folder})")
        self.inputs = dataclasses.replace(self.inputs, folder=folder)

    @rule(languages=st.sampled_from([(), ("fr",), ("en",)]))
    def set_languages(self, languages):
        self.say(f"set_languages({languages})")
        self.inputs = dataclasses.replace(self.inputs, languages=languages)

    @rule(variant=st.sampled_from(["pdf/ua-1", "pdf/a-3u"]))
    def set_pdf_variant(self, variant):
        self.say(f"set_pdf_variant({variant})")
        self.inputs = dataclasses.replace(self.inputs, pdf_variant=variant)

    @rule(on=st.booleans())
    def set_override(self, on):
        self.say(f"set_override({on})")
        self.inputs = dataclasses.replace(self.inputs, override=on)

    # ----------------------------------------------------------------------------------------------------------
    # Rules: commands
    # ----------------------------------------------------------------------------------------------------------

    @rule()
    def build(self):
        self.say("build")
        before = published(self.out) if self.out.exists() else {}
        proc = self.snakemake()
        self.no_traceback(proc)
        if self.inputs.content == "broken":
            if proc.returncode == 0:
                self.fail("a build of a dataset with an error succeeded", proc)
            after = published(self.out)
            kept = {k: v for k, v in before.items() if not k.startswith("validation.")}
            if {k: v for k, v in after.items() if not k.startswith("validation.")} != kept:
                self.fail("a failed validation changed the publications", proc)
            return
        if proc.returncode != 0:
            self.fail("the build failed", proc)
        self.built = self.inputs
        self.check_equals_clean("a build")
        self.check_changes()

    @rule(code=st.sampled_from(["NGA", "CIV", "west-africa", "see", "XYZ"]), lang=st.sampled_from(["fr", "en"]))
    def brief(self, code, lang):
        self.say(f"brief({code}, {lang})")
        before = published(self.out)
        proc = self.reportgen("brief", code, "--lang", lang, *self.settings_args())
        self.no_traceback(proc)
        exists = code in ("NGA", "west-africa") or (code == "CIV" and self.inputs.content == "plus")
        if self.inputs.content == "broken" or not exists:
            if proc.returncode == 0:
                self.fail(f"brief {code} --lang {lang} succeeded on data without it", proc)
            if "ERROR:" not in proc.stderr:
                self.fail("a failed brief said no ERROR", proc)
            changed = {k for k in set(before) | set(published(self.out))
                       if before.get(k) != published(self.out).get(k) and not k.startswith("validation.")}
            if changed:
                self.fail(f"a failed brief changed {sorted(changed)}", proc)
            return
        if proc.returncode != 0:
            self.fail(f"brief {code} --lang {lang} failed", proc)
        clean = published(clean_build(dataclasses.replace(self.inputs, languages=())))
        stem = f"{lang}/countries/{code}" if code.isupper() else f"{lang}/regions/{code}"
        after = published(self.out)
        for ext in (".html", ".pdf"):
            if after.get(stem + ext) != clean[stem + ext]:
                self.fail(f"the brief's {stem + ext} differs from a clean build's", proc)
        if self.built == self.inputs and lang in self.inputs.published_languages:
            self.check_equals_clean(f"brief {code} --lang {lang} on an up-to-date output")

    @rule()
    def validate(self):
        self.say("validate")
        before = published(self.out)
        proc = self.reportgen("validate", *self.settings_args())
        self.no_traceback(proc)
        if (proc.returncode == 0) != (self.inputs.content != "broken"):
            self.fail("validate's exit status does not match the data", proc)
        after = published(self.out)
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        if changed - {"validation.json", "validation.html"}:
            self.fail(f"validate changed {sorted(changed)}", proc)
        if self.built == self.inputs:
            self.check_equals_clean("validate on an up-to-date output")

    @rule()
    def diff(self):
        self.say("diff")
        before = published(self.out)
        proc = self.reportgen("diff", str(self.data["a"]), str(self.data["b"]))
        self.no_traceback(proc)
        if (proc.returncode == 0) != (self.inputs.content_a != "broken"):
            self.fail("diff's exit status does not match the data", proc)
        if published(self.out) != before:
            self.fail("diff changed the output folder", proc)

    @rule(delay=st.sampled_from([0.5, 3.0, 8.0, 15.0]),
          how=st.sampled_from(["SIGINT", "SIGTERM", "SIGKILL"]))
    def interrupted_build(self, delay, how):
        """A build stopped part-way: Ctrl-C (the whole process group), ``kill`` (Snakemake only), or a hard kill of
        everything (then ``snakemake --unlock``). Nothing is checked until the next build."""
        self.say(f"interrupted_build({delay}, {how})")
        cmd = snakemake_cmd(self.inputs, self.data[self.inputs.folder], self.out, self.override)
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
                                start_new_session=True)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            if how == "SIGTERM":
                proc.send_signal(signal.SIGTERM)
            else:
                os.killpg(proc.pid, getattr(signal, how))
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if how != "SIGTERM":
            # Whatever is left of the group (render workers, the data job) dies with it, as in a power cut.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.5)
        unlock = self.snakemake("--unlock")
        if unlock.returncode != 0:
            self.fail("snakemake --unlock failed", unlock)
        self.built = None
        # A build that ended before the signal published, and its history moved with it.
        if state.snapshot_path(self.out).is_file():
            current = snapshot_of(self.out)
            if not self.history or self.history[-1] != current:
                self.history.append(current)


def sm_settings(examples: int, steps: int) -> settings:
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=False,
                    suppress_health_check=list(HealthCheck), database=None)


def test_any_sequence_of_commands_leaves_what_a_clean_build_would():
    examples = int(os.environ.get("SM_EXAMPLES", "2"))
    steps = int(os.environ.get("SM_STEPS", "6"))
    t0, before = time.perf_counter(), STEPS_RUN[0]
    run_state_machine_as_test(BuildStateMachine, settings=sm_settings(examples, steps))
    print(f"state machine: {STEPS_RUN[0] - before} steps in {examples} sequence(s) of up to {steps} steps, "
          f"{len(CLEAN)} clean build(s), {time.perf_counter() - t0:.0f} s")


# --------------------------------------------------------------------------------------------------------------
# Explicit sequences: the issue's, and every one the machine found failing
# --------------------------------------------------------------------------------------------------------------

def play(*steps):
    """Run a sequence of the machine's rules: ("build",), ("brief", "NGA", "fr"), ("set_languages", ("fr",))…"""
    machine = BuildStateMachine()
    try:
        machine.first_build()
        for name, *args in steps:
            getattr(machine, name)(*args)
        return machine
    finally:
        machine.teardown()


def test_brief_then_build_keeps_every_publication_in_the_index():
    """The issue's sequence: a full build, `reportgen brief NGA --lang fr`, a build: nothing is lost from the
    index (the brief used to rewrite the plan with its one language), and the output is a clean build's."""
    machine = BuildStateMachine()
    try:
        machine.first_build()
        machine.brief("NGA", "fr")
        # The brief invalidated the workflow's stage results: the next build runs its stages again.
        assert not state.plan_path(machine.out).exists()
        machine.build()
        # Each language's index lists its publications; the site's entry page links both languages.
        for lang in ("en", "fr"):
            index = (machine.out / lang / "index.html").read_text(encoding="utf-8")
            assert 'href="countries/NGA.pdf"' in index, lang
        entry = (machine.out / "index.html").read_text(encoding="utf-8")
        assert 'href="en/index.html"' in entry and 'href="fr/index.html"' in entry
        again = machine.snakemake()
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    finally:
        machine.teardown()


def test_brief_in_english_then_build_keeps_the_french_publications():
    play(("brief", "NGA", "en"), ("build",))


def test_narrowing_languages_unpublishes_the_others_and_widening_renders_nothing():
    machine = BuildStateMachine()
    try:
        machine.first_build()
        machine.set_languages(("fr",))
        machine.build()
        assert not (machine.out / "en").exists() or not list((machine.out / "en").rglob("*.pdf"))
        machine.set_languages(())
        proc = machine.snakemake()
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "reportgen: 0 built" in proc.stderr, proc.stderr[-3000:]
        machine.check_equals_clean("widening the languages again")
    finally:
        machine.teardown()


def test_validate_of_another_dataset_into_the_output_is_not_left_there():
    """`reportgen validate OTHER --output OUT` writes OUT's validation report: the next build must write it back."""
    machine = BuildStateMachine()
    try:
        machine.first_build()
        broken = write_dataset(machine.root / "broken", dataset("broken"))
        proc = machine.reportgen("validate", str(broken), "--output", str(machine.out))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        machine.build()
    finally:
        machine.teardown()


def test_country_added_while_a_language_is_left_out_then_removed():
    play(("set_languages", ("fr",)), ("edit_dataset", "plus"), ("build",), ("set_languages", ()), ("build",),
         ("edit_dataset", "base"), ("build",))


def test_changes_follow_published_content_through_a_failed_build_and_a_switch_of_folder():
    play(("edit_dataset", "broken"), ("build",), ("switch_folder", "b"), ("build",), ("switch_folder", "a"),
         ("edit_dataset", "base"), ("build",))


def test_pdf_variant_and_override_changed_and_back():
    play(("set_pdf_variant", "pdf/a-3u"), ("set_override", True), ("build",), ("set_pdf_variant", "pdf/ua-1"),
         ("set_override", False), ("build",))


def test_interrupted_builds_then_a_build():
    play(("edit_dataset", "plus"), ("interrupted_build", 8.0, "SIGKILL"), ("build",),
         ("edit_dataset", "base"), ("interrupted_build", 3.0, "SIGTERM"), ("build",))
