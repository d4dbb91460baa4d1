"""Where the course lives, and the nbgrader configuration that maps it.

nbgrader's course directory normally holds ``source/``, ``release/``, ``submitted/``,
``autograded/`` and ``feedback/``. Here the instructor's ``solutions/`` is nbgrader's
source and ``lessons/`` its release; grading happens in a workspace of its own (by
default ``grading/``) holding the SQLite gradebook and the other nbgrader steps.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

COURSE_ID = "ann-from-scratch"
CONFIG_FILE = "nbgrader_config.py"  # at the course root: read by nbgrader, formgrader and `grade`
OUT_ENV = "AUTOGRADER_OUT"  # which grading workspace nbgrader_config.py points at (default grading/)
# No IPython history database (nothing shared between kernels), no start-up chatter on stderr.
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]


def find_root(start: Path | None = None) -> Path:
    """The course root: the nearest directory above ``start`` (default: cwd) with ``solutions/``.

    Falls back to the directory holding this package (an editable install of the repo).
    """
    start = (start or Path.cwd()).resolve()
    for d in (start, *start.parents):
        if (d / "solutions").is_dir() and (d / "pyproject.toml").exists():
            return d
    here = Path(__file__).resolve().parent.parent
    if (here / "solutions").is_dir():
        return here
    raise SystemExit("cannot find the course: run this from the repository (it has solutions/)")


@dataclass(frozen=True)
class Course:
    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def lessons_dir(self) -> Path:
        return self.root / "lessons"

    def lessons(self) -> list[str]:
        """Lesson ids, in order: every ``solutions/NN_name/NN_name.ipynb``."""
        return sorted(p.parent.name for p in self.solutions.glob("*/*.ipynb")
                      if p.stem == p.parent.name and ".ipynb_checkpoints" not in p.parts)

    def graded(self, lesson: str) -> bool:
        """Whether ``lesson`` has graded cells (``00_start_here`` has none: it is read, not graded)."""
        cells = json.loads(self.solution(lesson).read_text())["cells"]
        return any((c.get("metadata", {}).get("nbgrader") or {}).get("grade") for c in cells)

    def graded_lessons(self) -> list[str]:
        """The lessons ``grade``, ``selftest`` and ``demo`` grade: every lesson with graded cells."""
        return [lesson for lesson in self.lessons() if self.graded(lesson)]

    def solution(self, lesson: str) -> Path:
        return self.solutions / lesson / f"{lesson}.ipynb"

    def lesson(self, lesson: str) -> Path:
        return self.lessons_dir / lesson / f"{lesson}.ipynb"

    def resolve(self, lessons) -> list[str]:
        """Validate lesson ids (``01`` is accepted for ``01_layers``)."""
        known = self.lessons()
        if not lessons:
            return known
        out = []
        for name in lessons:
            match = [k for k in known if k == name or k.split("_", 1)[0] == name]
            if len(match) != 1:
                raise SystemExit(f"unknown lesson {name!r}; the course has: {', '.join(known)}")
            out.append(match[0])
        return out


def nbgrader_config(course: Course, workspace: Path, release_dir: Path, *,
                    submitted: Path | None = None, feedback: Path | None = None,
                    timeout: int = 30) -> Config:
    """nbgrader configuration: source = ``solutions/``, release = ``release_dir``.

    Every other step lives in ``workspace``; the gradebook is ``workspace/gradebook.db``,
    collected submissions go to ``workspace/submitted`` and the exchange (``nbgrader
    release_assignment/fetch_assignment/submit/collect``) is ``workspace/exchange``.
    Absolute directories are allowed by nbgrader (its paths are ``os.path.join``-ed).
    """
    workspace = workspace.resolve()
    c = Config()
    c.CourseDirectory.root = str(workspace)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = str(course.solutions.resolve())
    c.CourseDirectory.release_directory = str(release_dir.resolve())
    c.CourseDirectory.submitted_directory = str((submitted or workspace / "submitted").resolve())
    c.CourseDirectory.autograded_directory = str(workspace / "autograded")
    c.CourseDirectory.feedback_directory = str((feedback or workspace / "feedback").resolve())
    c.CourseDirectory.db_url = f"sqlite:///{workspace / 'gradebook.db'}"
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store"]
    c.Exchange.root = str(workspace / "exchange")
    c.CollectApp.check_owner = False  # one machine, one account: every submission has the same owner
    c.Execute.timeout = timeout
    c.Execute.interrupt_on_timeout = True
    c.Execute.kernel_name = "python3"
    c.Execute.extra_arguments = KERNEL_ARGS
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    # Graded test cells must not be timed-out by nbgrader's output limit silently.
    c.LimitOutput.max_lines = 200
    c.LimitOutput.max_traceback = 20
    c.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "autograder.feedback.ConciseTestCells",
        "autograder.sanitize.Sanitize",  # again: a notebook autograded before Sanitize existed
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    return c


def instructor_config(root: Path | str, out: Path | str | None = None) -> Config:
    """What ``nbgrader_config.py`` at the course root gives nbgrader and formgrader.

    The grading workspace ``out`` (default ``$AUTOGRADER_OUT``, else ``grading``; relative to
    the current directory) is the one ``python -m autograder grade --out`` wrote: the very
    gradebook ``out/nbgrader/gradebook.db``, its autograded notebooks, ``out/nbgrader/submitted``
    for ``nbgrader collect`` and the exchange ``out/nbgrader/exchange``; *source* is
    ``solutions/`` and *release* is ``lessons/``, as for ``python -m autograder release``.
    """
    course = Course(Path(root).resolve())
    out = Path(out or os.environ.get(OUT_ENV) or course.root / "grading").resolve()
    return nbgrader_config(course, out / "nbgrader", course.lessons_dir, feedback=out / "feedback-notebooks")


def course_settings(course: Course, out: Path) -> Config:
    """The course's ``nbgrader_config.py`` as nbgrader reads it for the workspace ``out``.

    ``grade`` merges its own settings over this, so what an instructor adds to that file
    (a late penalty, say) applies to ``grade`` as it does to nbgrader. Empty without the file.
    """
    from traitlets.config.loader import PyFileConfigLoader

    if not (course.root / CONFIG_FILE).is_file():
        return Config()
    before = os.environ.get(OUT_ENV)
    os.environ[OUT_ENV] = str(Path(out).resolve())
    try:
        return PyFileConfigLoader(CONFIG_FILE, path=str(course.root)).load_config()
    finally:
        if before is None:
            del os.environ[OUT_ENV]
        else:
            os.environ[OUT_ENV] = before


def course_config(course: Course, out: Path, **sections) -> Config:
    """nbgrader's configuration of the grading workspace ``out``, as ``nbgrader_config.py`` gives it
    (``instructor_config`` when the file is missing), with ``sections`` (``Name={trait: value}``) on top."""
    c = course_settings(course, out) if (course.root / CONFIG_FILE).is_file() else instructor_config(course.root, out)
    c.merge(Config(sections))
    return c


def api(config: Config):
    """An ``NbGraderAPI`` for ``config`` (imported lazily: nbgrader is slow to import)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    if config.Exchange.get("root"):  # nbgrader checks it when the API starts (an error in its log if missing)
        Path(config.Exchange.root).mkdir(parents=True, exist_ok=True)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
