"""The second layer's parts, without a browser: which inline scripts a page may run, and which
policy each path gets (``autograder.instructor``; the browser test checks it end to end)."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.instructor import SANDBOX, ContentSecurityPolicy, policy, script_hashes, skeleton


def test_hashes_are_the_browsers():
    # MDN's example for CSP hashes: <script>alert('Hello, world.');</script>
    assert script_hashes("<script>alert('Hello, world.');</script>") == \
        ["'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"]
    page = ('<script src="/x.js"></script><script type="text/javascript">var a = 1;</script>'
            '<span onclick="toggle_name(true);">x</span>')
    assert len(script_hashes(page)) == 2  # the inline script and the handler; not the script file
    assert "'unsafe-hashes'" in policy(script_hashes(page))
    assert "'unsafe-inline'" not in policy([]).split("style-src")[0]


class _Request:
    def __init__(self, path, hashes=None):
        self.path = path
        if hashes is not None:
            self.autograder_script_hashes = hashes


def _csp(path, body=b"", hashes=None, content_type="text/html; charset=UTF-8"):
    return ContentSecurityPolicy(_Request(path, hashes)).policy_for(path, content_type, body)


def test_each_path_gets_its_policy():
    hostile = b"<script>var own = 1;</script><img src=x onerror=\"steal()\">"
    assert _csp("/files/grading/feedback/a/01_layers/01_layers.html") == SANDBOX
    assert _csp("/nbconvert/html/grading/x.ipynb") == SANDBOX
    assert _csp("/formgrader/submissions/abc/file.html") == SANDBOX
    # a submission page: only the skeleton's hashes, whatever the page holds; none rendered, none allowed
    assert _csp("/formgrader/submissions/abc/", hostile, hashes=["'sha256-A'"]) == policy(["'sha256-A'"])
    assert _csp("/formgrader/submissions/abc/", hostile) == policy([])
    assert "'sha256-" not in policy([])
    # formgrader's other pages: their own inline scripts as served
    assert _csp("/formgrader/manage_assignments", hostile) == policy(script_hashes(hostile.decode()))
    assert _csp("/formgrader/api/assignments", b"[]", content_type="application/json") is None
    # a crafted link: an id from the path that formgrader would write into its inline script
    assert _csp("/formgrader/manage_students/%22%3Bsteal()%3B%22", hostile) == policy([])
    assert _csp("/lab") is None and _csp("/api/contents/x") is None


def test_the_skeleton_holds_nothing_of_the_learner():
    code = new_code_cell("print(1)")
    code.outputs = [new_output("display_data", data={"text/html": "<script>x()</script>"})]
    code.metadata["tags"] = ["t"]
    nb = new_notebook(cells=[new_markdown_cell("<img onerror=x()>"), code])
    nb.metadata["widgets"] = {"state": 1}
    bare = skeleton(nb)
    assert [c.source for c in bare.cells] == ["", ""] and bare.cells[1].outputs == []
    assert "widgets" not in bare.metadata and "tags" not in bare.cells[1].metadata
    assert nb.cells[0].source == "<img onerror=x()>"  # the notebook itself is not changed
    nbformat.validate(bare)
