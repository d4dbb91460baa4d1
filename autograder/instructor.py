"""The instructor's Jupyter server (``formgrader``, ``lab --instructor``): a server extension.

Loaded through ``jupyter/instructor/jupyter_server_config.json`` (put on
``JUPYTER_CONFIG_PATH`` by both commands), it does two things to nbgrader's formgrader:

1. **No script the server did not write runs on a page that shows learner content** (the
   second layer; the first is ``sanitize.Sanitize``). Every HTML page under ``/formgrader/``
   gets a Content-Security-Policy whose ``script-src`` lists, by SHA-256, only the inline
   scripts and event handlers the server itself wrote, and scripts from the server:

   * a submission's page (``/formgrader/submissions/<id>/``) is rendered twice, once as
     formgrader renders it and once as a *skeleton*, the same notebook with every markdown
     cell, output, code and widget state emptied; only the skeleton's inline scripts are
     allowed. A learner's script or ``onerror=`` is not in the skeleton, so it does not run,
     whatever the sanitizer missed;
   * formgrader's other pages (manage, gradebook, students) allow the inline scripts of the
     page as served: learner data reaches them later, through formgrader's JSON API, and
     anything that data could inject into the page is not on the list. A path with HTML or
     quote characters gets no inline script at all (formgrader writes ids from the path into
     its scripts: a crafted link would otherwise be hashed with the page);
   * files of the course served as they are (``/files/``, ``/nbconvert/``, ``/view/``,
     a submission's own files): ``sandbox``, no script at all (nbgrader's feedback HTML,
     ``grade``'s feedback pages).

   ``object-src 'none'``, ``frame-src 'none'``, ``base-uri 'self'``, ``form-action 'self'`` and
   ``img-src 'self' data:`` (matplotlib's PNGs) complete it; MathJax may load from its CDN folder.
2. **Formgrader's Autograde grades in the sandbox.** Its button's endpoint
   (``POST /formgrader/api/submission/<lesson>/<student>/autograde``) runs
   ``python -m autograder grade SUBMISSIONS --out DIR --lesson <lesson>`` on the grading
   workspace formgrader shows: the same sandboxed kernels and the same verification outside
   the kernel as ``grade``, never nbgrader's plain ``autograde``. A workspace not made by
   ``grade`` is refused with the command to run.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from tornado.web import OutputTransform

MATHJAX = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"  # nbconvert's MathJax (latest.js picks the 2.7.x folder)
SANDBOX = ("sandbox; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
           "font-src 'self' data:; frame-ancestors 'self'")
_GRADING = asyncio.Lock()  # one grade run at a time: one gradebook writer


# ---------------------------------------------------------------- 1. the Content-Security-Policy
class _Scripts(HTMLParser):
    """The inline scripts and ``on…=`` handlers of a page, as the browser hashes them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: set[str] = set()
        self.handlers: set[str] = set()
        self._script: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs:
            self._script = []
        self.handlers.update(v or "" for k, v in attrs.items() if k.startswith("on"))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.add("".join(self._script))
            self._script = None


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def script_hashes(html: str) -> list[str]:
    """CSP source expressions for every inline script and event handler of ``html``."""
    p = _Scripts()
    p.feed(html)
    p.close()
    return sorted({_sha(s) for s in p.scripts | p.handlers})


def policy(hashes: list[str]) -> str:
    """The formgrader pages' policy: scripts from the server, and the inline ones in ``hashes``."""
    inline = " ".join(hashes) + (" 'unsafe-hashes'" if hashes else "")
    return (f"default-src 'self'; script-src 'self' {MATHJAX} {inline}; "
            f"style-src 'self' 'unsafe-inline' {MATHJAX}; font-src 'self' data: {MATHJAX}; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; frame-src 'none'; child-src 'none'; worker-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'self'").replace("  ", " ")


def skeleton(nb):
    """``nb`` without anything a learner wrote or displayed: what formgrader's own page is made of
    (``_TwoRenderings`` also replaces the learner's name, which formgrader writes into the page)."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.source = ""
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            cell.outputs = []
        cell.metadata.pop("tags", None)
    return nb


class _TwoRenderings:
    """Formgrader's exporter, rendering a submission as usual and as its skeleton (the hashes,
    kept on the request for ``ContentSecurityPolicy``)."""

    def __init__(self, exporter, request):
        self._exporter, self._request = exporter, request

    def from_filename(self, filename, resources=None, **kw):
        import nbformat

        html, out = self._exporter.from_filename(filename, resources=copy.deepcopy(resources), **kw)
        nb = nbformat.read(filename, as_version=4)
        again = copy.deepcopy(resources) or {}
        for key in ("first_name", "last_name"):  # from the gradebook, i.e. from the learner or the LMS
            again[key] = "name"
        again["metadata"] = copy.deepcopy(out.get("metadata", {}))
        bare, _ = self._exporter.from_notebook_node(skeleton(nb), resources=again)
        self._request.autograder_script_hashes = script_hashes(bare)
        return html, out


class ContentSecurityPolicy(OutputTransform):
    """Sets the policy on each response by its path (a tornado output transform, before gzip)."""

    base_url = "/"

    def __init__(self, request):
        self.request = request

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        csp = self.policy_for(self.request.path, headers.get("Content-Type", ""), chunk if finishing else b"")
        if csp:
            headers["Content-Security-Policy"] = csp
            # never revalidated: a 304's headers (the server's default policy, or one made from an
            # empty body) would replace the policy the browser keeps with the page
            headers["Cache-Control"] = "no-store"
        return status_code, headers, chunk

    def transform_chunk(self, chunk, finishing):
        return chunk

    def policy_for(self, path: str, content_type: str, body: bytes) -> str | None:
        base = re.escape(self.base_url.rstrip("/"))
        if re.match(base + r"/(files|nbconvert|view)/", path) or \
                re.match(base + r"/formgrader/submissions/[^/]+/.+", path):
            return SANDBOX
        if re.match(base + r"/formgrader/submissions/[^/]+/?$", path):
            return policy(getattr(self.request, "autograder_script_hashes", []))  # none rendered: none allowed
        if re.match(base + r"/formgrader(/|$)", path) and "html" in content_type:
            if re.search(r"[<>\"'`&\\]", unquote(path)):  # formgrader echoes ids from the path into its scripts
                return policy([])
            return policy(script_hashes(body.decode("utf-8", "replace")))
        return None


# ---------------------------------------------------------------- 2. Autograde through `grade`
def workspace_of(coursedir) -> tuple[Path, Path] | str:
    """``(SUBMISSIONS, DIR)`` of the ``grade`` run formgrader shows, or why there is none."""
    workspace = Path(coursedir.root).resolve()
    out = workspace.parent
    if workspace.name != "nbgrader" or not (out / "sandbox.txt").is_file():
        return (f"{workspace} is not a grading workspace made by `python -m autograder grade`; "
                "grade with `python -m autograder grade SUBMISSIONS --out DIR` (Autograde runs only that)")
    return Path(coursedir.submitted_directory).resolve(), out


async def autograde(coursedir, course_root: Path, lesson: str, student: str) -> dict:
    """``grade`` for ``lesson`` in formgrader's workspace; nbgrader's reply format
    (``success``, ``log``, ``error``), with this student's grade in the log."""
    from .grade import STUDENT_ID

    where = workspace_of(coursedir)
    if isinstance(where, str):
        return {"success": False, "error": where}
    submissions, out = where
    if not STUDENT_ID.match(student) or not re.match(r"^[A-Za-z0-9_\-]+$", lesson):
        return {"success": False, "error": f"not a student and lesson of this course: {student!r}, {lesson!r}"}
    argv = [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out), "--lesson", lesson,
            "--workers", "1", "--quiet"]
    async with _GRADING:
        proc = await asyncio.create_subprocess_exec(*argv, cwd=str(course_root), stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        output, _ = await proc.communicate()
    log = output.decode("utf-8", "replace")[-20000:]
    if proc.returncode != 0:
        return {"success": False, "error": f"`{' '.join(argv[1:])}` failed (exit {proc.returncode})", "log": log}
    mine = [line for line in log.splitlines() if line.split()[:2] == [student, lesson]]
    return {"success": True, "log": "graded in the sandbox by `python -m autograder grade`:\n"
                                    + "\n".join(mine) + "\n\n" + log}


# ---------------------------------------------------------------- the extension
def _jupyter_server_extension_points():
    return [{"module": "autograder.instructor"}]


def _load_jupyter_server_extension(serverapp):
    from nbgrader.server_extensions.formgrader import apihandlers, handlers
    from nbgrader.server_extensions.formgrader.base import check_notebook_dir, check_xsrf
    from tornado import web

    from .course import find_root

    web_app = serverapp.web_app
    ContentSecurityPolicy.base_url = web_app.settings.get("base_url", "/")
    web_app.transforms.insert(0, ContentSecurityPolicy)
    try:
        course_root = find_root(Path(serverapp.root_dir))
    except SystemExit:  # `lab --instructor` on some other folder: Autograde will say what is wrong
        course_root = Path(serverapp.root_dir)

    handlers.SubmissionHandler.exporter = property(
        lambda self: _TwoRenderings(self.settings["nbgrader_exporter"], self.request))

    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    async def post(self, assignment_id, student_id):
        self.write(json.dumps(await autograde(self.coursedir, course_root, assignment_id, student_id)))

    apihandlers.AutogradeHandler.post = post
    serverapp.log.info("autograder: formgrader's pages under a Content-Security-Policy; Autograde runs `grade`")


load_jupyter_server_extension = _load_jupyter_server_extension
