"""``python -m autograder hub``: a class on one server (JupyterHub, local accounts, nbgrader's exchange).

One command, run as root, sets the server up and starts JupyterHub (``jupyterhub_config.py``
beside this file, with the settings this command writes to ``STATE/hub.json``):

* **accounts**: every roster row is a local account (``useradd`` makes the missing ones, home
  mode 0700; a ``password`` column is set with ``chpasswd``). JupyterHub's default
  ``PAMAuthenticator`` checks the accounts' own passwords: on one server the accounts are
  the identities, so there is no second user database to keep in step.
* **learners** get JupyterLab in learner mode (``autograder/jupyter/learner``: nbgrader's
  instructor tools off) with nbgrader's Assignment List on, started by JupyterHub's
  ``LocalProcessSpawner`` as the learner, in the learner's home;
* **the instructor** (``--instructor``, or roster rows with ``role=instructor``) is in the
  JupyterHub group ``instructors`` (role ``instructor``); that group's servers start on the
  instructor's copy of the course (``~/ann-from-scratch``: ``solutions/``, ``lessons/``,
  ``nbgrader_config.py``) with every nbgrader tool, formgrader included;
* **nbgrader's exchange** (``--exchange``, default ``/srv/nbgrader/exchange``) has nbgrader's
  documented layout, made ahead by this command so no learner can take the course's name:
  the root ``1777`` (nbgrader asks for 0777; the sticky bit stops anyone removing another's
  entry), ``<course>/`` and ``outbound/`` ``0755``, ``inbound/`` ``2733`` (write, no listing)
  and ``feedback/`` ``0711`` (reach a file by its hash, no listing), all owned by the instructor;
* **idle servers are culled** by ``jupyterhub-idle-culler``, a hub service (``--cull-idle``).

The instructor then releases, collects, grades and returns feedback from a terminal or a
notebook in their own server: ``python -m autograder publish 01`` (nbgrader's
``release_assignment``), and ``python -m autograder hub-grade 01`` (nbgrader's ``collect``,
``python -m autograder grade`` in the sandbox, nbgrader's ``generate_feedback`` and
``release_feedback``); the learners press **Fetch Feedback** in the Assignment List.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..course import CONFIG_FILE, COURSE_ID, Course, find_root
from ..lab import LEARNER, SETTINGS

HERE = Path(__file__).resolve().parent
HUB_CONFIG = HERE / "jupyterhub_config.py"
EXCHANGE = "/srv/nbgrader/exchange"
STATE = "/srv/ann-hub"
COURSE_DIRNAME = "ann-from-scratch"  # the instructor's copy of the course, in their home
ADMIN_TOKEN_ENV = "ANN_HUB_ADMIN_TOKEN"  # set: a hub service with this token and the admin role (tests, load test)
USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")  # useradd's portable names; nbgrader's student id too
MARK = "# --- added by `python -m autograder hub`"


class HubError(Exception):
    """A set-up problem, said in one line."""


@dataclass(frozen=True)
class Member:
    username: str
    role: str = "learner"  # or "instructor"
    password: str = ""
    name: str = ""


def read_roster(path: Path) -> list[Member]:
    """The roster CSV: a ``username`` column (or ``student_id``), optional ``password``, ``name``, ``role``.

    ``role`` is ``learner`` (default) or ``instructor``. Usernames are local account names
    (lower-case letters, digits, ``_`` and ``-``, at most 32), and so nbgrader's student ids.
    """
    path = Path(path)
    if not path.is_file():
        raise HubError(f"no roster at {path}")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip() for f in reader.fieldnames or []]
        if "username" not in fields and "student_id" not in fields:
            raise HubError(f"{path}: the roster needs a 'username' column (header: {', '.join(fields) or 'none'})")
        members, seen = [], set()
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            user = row.get("username") or row.get("student_id", "")
            role = (row.get("role") or "learner").lower()
            if not USERNAME.match(user):
                raise HubError(f"{path}:{line}: {user!r} is not a local account name "
                               "(lower-case letters, digits, _ and -, starting with a letter or _, at most 32)")
            if role not in ("learner", "instructor"):
                raise HubError(f"{path}:{line}: role {role!r} is neither 'learner' nor 'instructor'")
            if any(ch in row.get("password", "") + row.get("name", "") for ch in "\n\r\0"):
                raise HubError(f"{path}:{line}: {user}'s password or name has a line break or NUL")
            if user in seen:
                raise HubError(f"{path}:{line}: {user} is in the roster twice")
            seen.add(user)
            members.append(Member(user, role, row.get("password", ""), row.get("name", "")))
    if not members:
        raise HubError(f"{path}: the roster has no learners")
    return members


# ------------------------------------------------------------------------ the system (root)
def account_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


UID_MIN = 1000  # Debian's first ordinary account (login.defs); below it: system accounts, never touched


def ensure_account(member: Member, *, create: bool) -> Path:
    """The member's local account (made with ``useradd`` when ``create``), home 0700, password set.

    An existing system account (uid below 1000: root, daemon, ...) is refused, never changed."""
    if account_exists(member.username) and pwd.getpwnam(member.username).pw_uid < UID_MIN:
        raise HubError(f"{member.username} is a system account (uid {pwd.getpwnam(member.username).pw_uid}); "
                       "learners and instructors need ordinary accounts")
    if not account_exists(member.username):
        if not create:
            raise HubError(f"no local account {member.username!r} (run as root to make it from the roster)")
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group",
                        *(["--comment", member.name] if member.name else []), member.username],
                       check=True, capture_output=True)
    home = Path(pwd.getpwnam(member.username).pw_dir)
    if create:
        if not home.is_dir():
            home.mkdir(parents=True)
            ent = pwd.getpwnam(member.username)
            os.chown(home, ent.pw_uid, ent.pw_gid)
        os.chmod(home, 0o700)  # no learner reads another's files
        if member.password:
            subprocess.run(["chpasswd"], input=f"{member.username}:{member.password}\n", text=True,
                           check=True, capture_output=True)
    return home


def _chown(path: Path, user: str) -> None:
    ent = pwd.getpwnam(user)
    os.chown(path, ent.pw_uid, ent.pw_gid)


def setup_exchange(root: Path, instructor: str, course_id: str = COURSE_ID) -> Path:
    """nbgrader's exchange layout under ``root``, the course's directories owned by ``instructor``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o1777)
    for parent in root.parents:  # every learner must reach it: add only the search bit
        if parent == Path("/"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o011)
    course = root / course_id
    modes = {course: 0o755, course / "outbound": 0o755, course / "inbound": 0o2733, course / "feedback": 0o711}
    for d, mode in modes.items():
        if d.is_symlink() or (d.exists() and not d.is_dir()):
            raise HubError(f"{d} exists and is not a directory: remove it")
        d.mkdir(exist_ok=True)
        _chown(d, instructor)
        os.chmod(d, mode)
    return course


def setup_instructor_course(course: Course, instructor: str, exchange: Path) -> Path:
    """The instructor's copy of the course, ``~instructor/ann-from-scratch`` (made once, then theirs).

    ``solutions/``, ``lessons/``, ``pyproject.toml`` and ``nbgrader_config.py``, whose last lines
    point nbgrader at the shared exchange and make ``collect`` check each submission's owner.
    """
    home = Path(pwd.getpwnam(instructor).pw_dir)
    dest = home / COURSE_DIRNAME
    if not dest.exists():
        dest.mkdir()
        for name in ("solutions", "lessons"):
            shutil.copytree(course.root / name, dest / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for name in ("pyproject.toml", CONFIG_FILE):
            shutil.copy(course.root / name, dest / name)
    config = dest / CONFIG_FILE
    text = config.read_text()
    if MARK not in text:
        config.write_text(text.rstrip("\n") + f"\n\n{MARK} (one server, shared exchange) ---\n"
                          f"c.Exchange.root = {str(exchange)!r}\n"
                          "c.CollectApp.check_owner = True  # a submission's files belong to its learner\n")
    for dirpath, _dirs, filenames in os.walk(dest):
        _chown(Path(dirpath), instructor)
        for f in filenames:
            _chown(Path(dirpath) / f, instructor)
    return dest


def reach_python() -> None:
    """Every account must run this interpreter: add only the search bit on the directories above it."""
    for target in {Path(sys.prefix), Path(sys.base_prefix), HERE}:
        for d in (target, *target.parents):
            if d != Path("/") and d.is_dir():
                os.chmod(d, os.stat(d).st_mode | 0o001)


# ------------------------------------------------------------------------ the settings
def learner_config_dir(state: Path, exchange: Path) -> Path:
    """``STATE/learner-jupyter``: the learners' nbgrader exchange and JupyterLab defaults."""
    d = state / "learner-jupyter"
    d.mkdir(parents=True, exist_ok=True)
    (d / "nbgrader_config.py").write_text(
        "# written by `python -m autograder hub`: where the learners' Assignment List looks\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n")
    (d / "jupyter_server_config.json").write_text(json.dumps(
        {"LabApp": {"app_settings_dir": str(SETTINGS)}}, indent=2) + "\n")
    for p in (d, *d.iterdir()):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return d


def write_settings(state: Path, *, members: list[Member], exchange: Path, course_dir: Path | None,
                   port: int, ip: str, cull_idle: int, hub_port: int, proxy_api_port: int) -> Path:
    """``STATE/hub.json``, read by ``jupyterhub_config.py``."""
    learners = [m.username for m in members if m.role == "learner"]
    instructors = [m.username for m in members if m.role == "instructor"]
    settings = {
        "learners": learners,
        "instructors": instructors,
        "exchange": str(exchange),
        "course_dir": str(course_dir) if course_dir else None,
        "learner_config": [str(LEARNER), str(learner_config_dir(state, exchange))],
        "python": sys.executable,
        "ip": ip, "port": port, "hub_port": hub_port, "proxy_api_port": proxy_api_port,
        "cull_idle": cull_idle,
        "state": str(state),
    }
    path = state / "hub.json"
    path.write_text(json.dumps(settings, indent=2) + "\n")
    os.chmod(path, 0o600)
    return path


def command(state: Path) -> tuple[list[str], dict]:
    """The ``jupyterhub`` command line and environment (nothing is started)."""
    env = dict(os.environ, ANN_HUB_SETTINGS=str(state / "hub.json"))
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)], env


def prepare(args) -> tuple[Path, list[Member]]:
    """Everything but starting the hub: accounts, exchange, instructor's course, settings."""
    is_root = os.geteuid() == 0
    if not is_root:
        raise HubError("run it as root: JupyterHub starts each learner's server as that learner "
                       "(LocalProcessSpawner) and checks passwords with PAM")
    if shutil.which("configurable-http-proxy") is None:
        raise HubError("no configurable-http-proxy on PATH: `npm install -g configurable-http-proxy@5` "
                       "(tests/system-setup.sh does it)")
    members = read_roster(args.learners)
    if args.instructor:
        members = [m for m in members if m.username != args.instructor]
        members.append(Member(args.instructor, "instructor", args.instructor_password or ""))
    instructors = [m.username for m in members if m.role == "instructor"]
    if len(instructors) > 1:
        raise HubError(f"one instructor per class here (the exchange's course belongs to one account): {instructors}")
    course = Course(find_root())
    for m in members:
        ensure_account(m, create=not args.no_accounts)
    reach_python()
    exchange = Path(args.exchange)
    course_dir = None
    if instructors:
        setup_exchange(exchange, instructors[0])
        course_dir = setup_instructor_course(course, instructors[0], exchange)
    else:
        print("note: no instructor in the roster: the exchange is not made (learners see no assignments)",
              file=sys.stderr)
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o711)  # learners reach learner-jupyter/, nothing else
    write_settings(state, members=members, exchange=exchange, course_dir=course_dir, port=args.port, ip=args.ip,
                   cull_idle=args.cull_idle, hub_port=args.hub_port or args.port + 81,
                   proxy_api_port=args.proxy_api_port or args.port + 1)
    return state, members


def main(args) -> int:
    try:
        state, members = prepare(args)
    except HubError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    argv, env = command(state)
    n = sum(m.role == "learner" for m in members)
    print(f"JupyterHub for {n} learners and {len(members) - n} instructor(s) on http://{args.ip}:{args.port}/ "
          f"(state in {state}); stop it with Ctrl+C.", flush=True)
    os.chdir(state)
    os.execvpe(argv[0], argv, env)
    return 0  # not reached


# ------------------------------------------------------------------------ the instructor's round
def hub_grade(args) -> int:
    """nbgrader collect → ``python -m autograder grade`` (sandboxed) → generate_feedback → release_feedback."""
    from ..collect import collect
    from ..course import api, course_config

    course = Course(find_root())
    out = Path(args.out).resolve()
    lessons = course.resolve(args.lessons)
    # the gradebook's directory (with a shared exchange, publish made none)
    Path(course_config(course, out).CourseDirectory.root).mkdir(parents=True, exist_ok=True)
    submitted = collect(course, out, lessons)
    n = {lesson: len(list(submitted.glob(f"*/{lesson}/*.ipynb"))) for lesson in lessons}
    print("collected: " + ", ".join(f"{lesson} {k}" for lesson, k in n.items()), flush=True)
    todo = [lesson for lesson in lessons if n[lesson]]
    if todo and args.scheduler:  # grading on a Dask cluster: the executor path of grade()
        import distributed

        from ..grade import grade

        with distributed.Client(args.scheduler) as client:
            grade(course, submitted, out, todo, progress=False, executor=client.get_executor())
    elif todo:  # here, sandboxed, as `python -m autograder grade` does
        cmd = [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out), "--quiet",
               "--workers", str(args.workers), *[a for lesson in todo for a in ("--lesson", lesson)]]
        rc = subprocess.call(cmd, cwd=course.root)
        if rc:
            print(f"hub-grade: grade exited {rc}", file=sys.stderr)
            return rc
    config = course_config(course, out)
    nbg = api(config)
    released = 0
    for lesson in lessons:
        for nb in sorted(submitted.glob(f"*/{lesson}/{lesson}.ipynb")):
            student = nb.parent.parent.name
            r = nbg.generate_feedback(lesson, student, force=True)
            if not r["success"]:
                print(f"hub-grade: no feedback for {student}/{lesson}: {r.get('error') or r.get('log')}",
                      file=sys.stderr)
                continue
            # release_feedback finds each submission's hash from these two files beside the feedback
            fb = Path(config.CourseDirectory.feedback_directory) / student / lesson
            for name in ("timestamp.txt", "submission_secret.txt"):
                if (nb.parent / name).exists() and not (fb / name).exists():
                    shutil.copy(nb.parent / name, fb / name)
        r = nbg.release_feedback(lesson)
        if not r["success"]:
            print(f"hub-grade: release_feedback {lesson} failed: {r.get('error') or r.get('log')}", file=sys.stderr)
            return 1
        released += len(list((Path(config.CourseDirectory.feedback_directory)).glob(f"*/{lesson}/*.html")))
    print(f"feedback released for {released} notebooks; learners press Fetch Feedback in the Assignment List")
    return 0


def add_parsers(sub) -> None:
    """``hub`` and ``hub-grade`` on the ``python -m autograder`` command line."""
    h = sub.add_parser("hub", help="a class on this server: JupyterHub, learner accounts from a roster, an "
                                   "instructor with formgrader, nbgrader's exchange (run as root)")
    h.add_argument("--learners", required=True, help="roster CSV: username[,password][,name][,role]")
    h.add_argument("--instructor", help="the instructor's account (else a roster row with role=instructor)")
    h.add_argument("--instructor-password", help="set the instructor's password (default: leave it)")
    h.add_argument("--port", type=int, default=8000, help="the hub's public port (default 8000)")
    h.add_argument("--ip", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; '' for every interface, behind TLS)")
    h.add_argument("--hub-port", type=int, help="the hub's internal API port (default PORT+81)")
    h.add_argument("--proxy-api-port", type=int, help="configurable-http-proxy's API port (default PORT+1)")
    h.add_argument("--exchange", default=EXCHANGE, help=f"nbgrader's exchange root (default {EXCHANGE})")
    h.add_argument("--state-dir", default=STATE, help=f"the hub's database, cookie secret, settings (default {STATE})")
    h.add_argument("--cull-idle", type=int, default=3600,
                   help="seconds before an idle server is stopped (jupyterhub-idle-culler; default 3600)")
    h.add_argument("--no-accounts", action="store_true",
                   help="make no account and set no password: every roster row must be an existing account")
    h.set_defaults(func=main)

    g = sub.add_parser("hub-grade", help="the instructor on the hub: nbgrader collect, grade in the sandbox, "
                                         "generate and release feedback")
    g.add_argument("lessons", nargs="+", help="lesson ids, e.g. 01")
    g.add_argument("--out", default="grading", help="the grading workspace (default grading/)")
    g.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    g.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                   help="grade on this Dask scheduler (default $DASK_SCHEDULER_ADDRESS; unset: here)")
    g.set_defaults(func=hub_grade)
