"""The class-on-a-server set-up without a running hub: roster, JupyterHub's configuration, the
exchange's layout, and the Kubernetes files (parsed against the structure their tools expect;
nothing is deployed here). The running hub is tested end to end by ``test_hub_class.py``."""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import types
from pathlib import Path

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

from autograder import hub
from autograder.cli import main as cli
from autograder.lab import LEARNER, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "autograder" / "hub"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------- roster
def test_roster_reads_learners_and_an_instructor(tmp_path):
    roster = write(tmp_path / "r.csv", "username,password,name,role\nann-ada,pw1,Ada L,\n"
                                       "ben_2,,Ben,learner\nteach,pw3,T,Instructor\n")
    members = hub.read_roster(roster)
    assert [(m.username, m.role, m.password, m.name) for m in members] == [
        ("ann-ada", "learner", "pw1", "Ada L"), ("ben_2", "learner", "", "Ben"), ("teach", "instructor", "pw3", "T")]
    # an LMS-style roster with student_id works too
    assert [m.username for m in hub.read_roster(write(tmp_path / "s.csv", "student_id\nada\n"))] == ["ada"]


@pytest.mark.parametrize("text, says", [
    ("name\nAda\n", "needs a 'username' column"),
    ("username\nAda Lovelace\n", "'Ada Lovelace' is not a local account name"),
    ("username\nada\nada\n", "ada is in the roster twice"),
    ("username,role\nada,admin\n", "role 'admin' is neither"),
    ("username\n", "has no learners"),
    ("username\n-rf\n", "'-rf' is not a local account name"),
    ('username,password\nada,"pw\nroot:x"\n', "ada's password or name has a line break"),
])
def test_roster_errors_name_the_problem(tmp_path, text, says):
    with pytest.raises(hub.HubError, match=re.escape(says)):
        hub.read_roster(write(tmp_path / "r.csv", text))


def test_hub_command_says_what_is_wrong(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(hub.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(hub.os, "geteuid", lambda: 0)
    assert cli(["hub", "--learners", str(tmp_path / "missing.csv")]) == 2
    assert "no roster at" in capsys.readouterr().err
    monkeypatch.setattr(hub.os, "geteuid", lambda: 1000)
    assert cli(["hub", "--learners", str(tmp_path / "missing.csv")]) == 2
    assert "run it as root" in capsys.readouterr().err


def test_system_accounts_are_refused_untouched():
    for user in ("root", "daemon"):
        with pytest.raises(hub.HubError, match=f"{user} is a system account"):
            hub.ensure_account(hub.Member(user, password="x"), create=True)


# ------------------------------------------------------------------------------- JupyterHub's config
def load_hub_config(tmp_path, monkeypatch, *, admin_token: str | None = None):
    settings = {"learners": ["ann-ada", "ann-ben"], "instructors": ["ann-teacher"], "exchange": "/x/exchange",
                "course_dir": "/home/ann-teacher/ann-from-scratch",
                "learner_config": [str(LEARNER), str(tmp_path / "learner-jupyter")], "python": "/venv/bin/python",
                "ip": "127.0.0.1", "port": 8000, "hub_port": 8081, "proxy_api_port": 8001, "cull_idle": 600,
                "state": str(tmp_path)}
    write(tmp_path / "hub.json", json.dumps(settings))
    monkeypatch.setenv("ANN_HUB_SETTINGS", str(tmp_path / "hub.json"))
    if admin_token:
        monkeypatch.setenv("ANN_HUB_ADMIN_TOKEN", admin_token)
    else:
        monkeypatch.delenv("ANN_HUB_ADMIN_TOKEN", raising=False)
    return PyFileConfigLoader(hub.HUB_CONFIG.name, path=str(hub.HUB_CONFIG.parent)).load_config()


def fake_spawner(groups):
    user = types.SimpleNamespace(groups=[types.SimpleNamespace(name=g) for g in groups])
    return types.SimpleNamespace(user=user, environment={"PATH": "/venv/bin"}, notebook_dir="~")


def test_hub_config_learners_instructor_culler(tmp_path, monkeypatch):
    c = load_hub_config(tmp_path, monkeypatch)
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.Authenticator.allowed_users == {"ann-ada", "ann-ben", "ann-teacher"}
    assert c.JupyterHub.load_groups["instructors"]["users"] == ["ann-teacher"]
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["instructor"]["groups"] == ["instructors"]
    assert not any(s.startswith(("admin", "access:servers")) for s in roles["instructor"]["scopes"])
    assert set(roles["idle-culler"]["scopes"]) == {"list:users", "read:users:activity", "read:servers",
                                                  "delete:servers"}
    (culler,) = c.JupyterHub.services
    assert culler["command"][1:3] == ["-m", "jupyterhub_idle_culler"] and "--timeout=600" in culler["command"]
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.hub_bind_url == "http://127.0.0.1:8081"
    assert c.Spawner.cmd == ["/venv/bin/jupyterhub-singleuser"] and c.Spawner.default_url == "/lab"

    learner = fake_spawner(["learners"])
    c.Spawner.pre_spawn_hook(learner)
    path = learner.environment["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    assert path == [str(LEARNER), str(tmp_path / "learner-jupyter")]
    assert learner.notebook_dir == "~"
    teacher = fake_spawner(["instructors"])
    c.Spawner.pre_spawn_hook(teacher)
    assert "JUPYTER_CONFIG_PATH" not in teacher.environment
    assert teacher.notebook_dir == "/home/ann-teacher/ann-from-scratch"
    assert "JUPYTER_CONFIG_PATH" not in fake_spawner(["learners"]).environment  # one learner's env is not shared


def test_hub_config_admin_service_only_with_a_token(tmp_path, monkeypatch):
    c = load_hub_config(tmp_path, monkeypatch, admin_token="t0k")
    assert {"name": "ann-admin", "api_token": "t0k"} in c.JupyterHub.services
    assert {"name": "admin", "services": ["ann-admin"]} in c.JupyterHub.load_roles


def test_learner_config_points_nbgrader_at_the_exchange(tmp_path, monkeypatch):
    from autograder.lab import exchange_configured

    exchange = tmp_path / "exchange"
    d = hub.learner_config_dir(tmp_path, exchange)
    c = PyFileConfigLoader("nbgrader_config.py", path=str(d)).load_config()
    assert c.Exchange.root == str(exchange) and c.CourseDirectory.course_id == "ann-from-scratch"
    assert json.loads((d / "jupyter_server_config.json").read_text())["LabApp"]["app_settings_dir"] == str(SETTINGS)
    # what the learner's Assignment List sees: an exchange once it exists, none before
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", os.pathsep.join([str(LEARNER), str(d)]))
    work = tmp_path / "home"
    work.mkdir()
    assert not exchange_configured(work)
    exchange.mkdir()
    assert exchange_configured(work)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_exchange_layout_as_nbgrader_documents_it(tmp_path):
    owner = "nobody"
    course = hub.setup_exchange(tmp_path / "exchange", owner)
    modes = {p.name: oct(p.stat().st_mode & 0o7777) for p in (course.parent, course, *sorted(course.iterdir()))}
    assert modes == {"exchange": "0o1777", "ann-from-scratch": "0o755", "feedback": "0o711",
                     "inbound": "0o2733", "outbound": "0o755"}
    assert {pwd.getpwuid(p.stat().st_uid).pw_name for p in (course, *course.iterdir())} == {owner}
    hub.setup_exchange(tmp_path / "exchange", owner)  # again: nothing breaks, nothing changes
    assert oct((course / "inbound").stat().st_mode & 0o7777) == "0o2733"


# ------------------------------------------------------------------------------- beyond one machine
# The keys of the `jupyterhub` Helm chart (Zero to JupyterHub 3.x/4.x) that these values use,
# by section; a misspelt key is silently ignored by Helm, so the test refuses any other.
Z2JH_KEYS = {
    "singleuser": {"image", "cmd", "defaultUrl", "startTimeout", "fsGid", "uid", "extraEnv", "cpu", "memory",
                   "storage", "profileList", "networkPolicy", "lifecycleHooks", "initContainers"},
    "singleuser.image": {"name", "tag", "pullPolicy", "pullSecrets"},
    "singleuser.storage": {"type", "capacity", "homeMountPath", "extraVolumes", "extraVolumeMounts", "dynamic",
                           "static", "extraLabels"},
    "singleuser.cpu": {"limit", "guarantee"},
    "singleuser.memory": {"limit", "guarantee"},
    "hub": {"config", "loadGroups", "loadRoles", "extraConfig", "extraEnv", "db", "image", "services"},
    "cull": {"enabled", "timeout", "every", "users", "concurrency", "maxAge", "removeNamedServers", "adminUsers"},
    "proxy": {"service", "https", "chp", "secretToken"},
}
Z2JH_TOP = {"hub", "proxy", "singleuser", "scheduling", "cull", "prePuller", "ingress", "debug", "custom", "rbac"}


def values():
    return yaml.safe_load((HUB / "z2jh-values.yaml").read_text())


def test_z2jh_values_have_the_chart_structure():
    v = values()
    assert set(v) <= Z2JH_TOP, set(v) - Z2JH_TOP
    for path, allowed in Z2JH_KEYS.items():
        node = v
        for part in path.split("."):
            node = node.get(part, {})
        assert set(node) <= allowed, f"{path}: unknown keys {set(node) - allowed}"
    # the exchange: a volume from the RWX claim, mounted where nbgrader's learners look
    storage = v["singleuser"]["storage"]
    (vol,) = storage["extraVolumes"]
    (mount,) = storage["extraVolumeMounts"]
    assert mount["name"] == vol["name"] and mount["mountPath"] == hub.EXCHANGE
    docs = list(yaml.safe_load_all((HUB / "k8s-class.yaml").read_text()))
    pvc = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")
    assert vol["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    job = next(d for d in docs if d["kind"] == "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "chmod 1777 $x" in script and "chmod 2733 $c/inbound" in script and "chmod 0711 $c/feedback" in script
    # learner mode: the package's learner config first, then the image's nbgrader settings
    first, second = v["singleuser"]["extraEnv"]["JUPYTER_CONFIG_PATH"].split(":")
    assert first == "/opt/ann/" + str(LEARNER.relative_to(ROOT)) and LEARNER.is_dir()
    learner_cfg = PyFileConfigLoader("learner-nbgrader-config.py", path=str(HUB)).load_config()
    assert learner_cfg.Exchange.root == mount["mountPath"]
    assert second == "/etc/ann-hub/learner-jupyter"
    # the group with formgrader, the culler, per-user uids (the exchange's protection) in extraConfig
    assert set(v["hub"]["loadRoles"]["instructor"]["groups"]) <= set(v["hub"]["loadGroups"])
    assert v["cull"]["enabled"] is True
    code = "\n".join(v["hub"]["extraConfig"].values())
    ns = {"c": types.SimpleNamespace(KubeSpawner=types.SimpleNamespace())}
    exec(compile(code, "extraConfig", "exec"), ns)
    assert ns["c"].KubeSpawner.uid(types.SimpleNamespace(user=types.SimpleNamespace(id=7))) == 10007
    teacher = fake_spawner(["instructors"])
    teacher.environment["JUPYTER_CONFIG_PATH"] = "x"
    ns["c"].KubeSpawner.pre_spawn_hook(teacher)
    assert "JUPYTER_CONFIG_PATH" not in teacher.environment and teacher.environment["DASK_SCHEDULER_ADDRESS"]
    # Dask: the workers run the single-user image; the scheduler address is the dask chart's service
    dask = yaml.safe_load((HUB / "dask-values.yaml").read_text())
    image = v["singleuser"]["image"]
    assert dask["worker"]["image"] == {"repository": image["name"], "tag": image["tag"]} == dask["scheduler"]["image"]
    assert teacher.environment["DASK_SCHEDULER_ADDRESS"].startswith("tcp://ann-dask-scheduler.")


def dockerfile():
    """(instruction, arguments) of autograder/hub/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (HUB / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_instructions_and_sources():
    steps = dockerfile()
    known = {"FROM", "RUN", "COPY", "WORKDIR", "ENV", "USER", "EXPOSE", "ENTRYPOINT", "CMD", "ARG", "LABEL"}
    assert steps[0][0] == "FROM" and {w for w, _ in steps} <= known
    copies = [shlex.split(rest) for w, rest in steps if w == "COPY"]
    assert copies
    for *sources, _dest in copies:
        for src in sources:
            assert (ROOT / src).exists(), f"COPY {src}: no such file in the repository (build context: its root)"
    copied = {Path(s).parts[0] for *sources, _ in copies for s in sources}
    assert {"ann_core", "autograder", "lessons", "solutions", "pyproject.toml"} <= copied
    assert json.loads(dict(steps)["CMD"]) == ["jupyterhub-singleuser"]
    run = " ".join(rest for w, rest in steps if w == "RUN")
    assert "bubblewrap" in run and '".[hub,cluster]"' in run


def test_load_test_reads_lesson_02_and_this_process(tmp_path):
    """bench_hub_capacity's parts that need no hub: the cells it sends, the /proc accounting."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_hub", ROOT / "benchmarks" / "bench_hub_capacity.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    finished, released = bench.cells("solutions"), bench.cells("lessons")
    assert len(finished) == len(released) > 20 and finished != released
    mine = bench.per_uid()[os.getuid()]
    rss_self = int(next(line.split()[1] for line in Path("/proc/self/status").read_text().splitlines()
                        if line.startswith("VmRSS:"))) * 1024
    assert mine[0] >= rss_self > 0  # this process is one of this uid's
    assert mine[1] >= sum(os.times()[:2]) - 0.05  # at least this process's CPU seconds
