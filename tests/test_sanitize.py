"""The first layer: ``autograder.sanitize`` makes learner content inert and keeps what a learner needs.

Each hostile vector (``hostile_payloads.py``) goes through the sanitizer as an HTML output, a
markdown cell and a text/markdown output, and an independent judge (the standard library's
HTML parser) must find nothing in the result that could run; the same judge finds every
vector hostile before sanitizing, so it can fail.
"""

from __future__ import annotations

import base64
import copy

import nbformat
import pytest
from hostile_payloads import MARKDOWN_VECTORS, SVG_OUTPUT, VECTORS, problems
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.sanitize import DROPPED, Sanitize, clean, clean_markdown, clean_notebook, clean_svg

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_every_vector_is_hostile_then_inert(name):
    html = VECTORS[name]
    if name not in ("meta-refresh", "base-href", "link-import", "style-tag", "comment-breakout", "noscript-breakout"):
        assert problems(html), f"the judge sees nothing wrong in {name}: it could not fail"
    assert problems(clean(html)) == []
    assert problems(clean_markdown(html)) == []


@pytest.mark.parametrize("name", sorted(MARKDOWN_VECTORS))
def test_markdown_links_and_autolinks_are_inert_once_rendered(name):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    md = MARKDOWN_VECTORS[name]
    assert problems(markdown2html_mistune(md)), "rendered as is, this markdown would be hostile"
    assert problems(markdown2html_mistune(clean_markdown(md))) == []


def test_svg_keeps_the_figure_and_loses_the_script():
    assert problems(SVG_OUTPUT)
    safe = clean_svg(SVG_OUTPUT)
    assert problems(safe) == []
    assert "<rect" in safe and "<svg" in safe and "__pwned" not in safe


def test_what_a_learner_needs_stays():
    table = ('<table border="1" class="dataframe"><thead><tr style="text-align: right;"><th></th><th>a</th></tr>'
             '</thead><tbody><tr><th>0</th><td>1.5</td></tr></tbody></table>')
    assert clean(table) == table.replace("text-align: right;", "text-align:right")  # a pandas table, as it was
    assert clean('<img src="data:image/png;base64,' + PNG + '">') == '<img src="data:image/png;base64,' + PNG + '">'
    md = "## Result\n\n**bold**, *it*, `code`, [docs](https://numpy.org) and $\\sigma(z) = 1/(1+e^{-z})$\n"
    assert clean_markdown(md) == md  # plain markdown: kept as written
    html = clean_markdown("Since $a<b$, <b>bold</b> and <img src=x onerror=alert(1)>")
    assert "$a&lt;b$" in html and "<b>bold</b>" in html and "onerror" not in html  # math is text for MathJax


def _notebook():
    released = new_notebook(cells=[new_markdown_cell("# Lesson <b>one</b>\n\n$x<y$")])
    nb = copy.deepcopy(released)
    nb.cells.append(new_markdown_cell(VECTORS["img-onerror"]))
    code = new_code_cell("display(...)")
    code.outputs = [
        new_output("display_data", data={"text/html": VECTORS["script"] + "<p>ok</p>", "text/plain": "<x>"}),
        new_output("display_data", data={"application/javascript": "window.__pwned=1"}),
        new_output("display_data", data={"image/svg+xml": SVG_OUTPUT}),
        new_output("display_data", data={"text/markdown": MARKDOWN_VECTORS["md-link-javascript"]}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"},
                                         "text/plain": "Widget"}),
        new_output("display_data", data={"image/png": PNG},
                   metadata={"image/png": {"width": "1 onerror=alert(1)", "height": 40}}),
        new_output("error", ename="AssertionError", evalue="x<script>", traceback=["AssertionError: x<script>"]),
    ]
    code.metadata["tags"] = ['"><script>alert(1)</script>', "raises-exception"]
    nb.cells.append(code)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return released, nb


def test_a_notebook_is_inert_in_nbconvert_html_and_keeps_the_rest():
    released, nb = _notebook()
    before, _ = HTMLExporter(template_name="classic").from_notebook_node(copy.deepcopy(nb))
    assert "onerror=" in before and "window.__pwned=1" in before  # what nbconvert would have served
    notes = clean_notebook(nb, released)
    assert nb.cells[0].source == released.cells[0].source  # the instructor's markdown: untouched
    out = nb.cells[2].outputs
    assert "<p>ok</p>" in out[0].data["text/html"] and "script" not in out[0].data["text/html"]
    assert out[0].data["text/plain"] == "<x>"  # text is escaped by every renderer: kept
    assert out[1].data == {"text/plain": DROPPED}
    assert "<rect" in out[2].data["image/svg+xml"]
    assert list(out[4].data) == ["text/plain"]
    assert out[5].data["image/png"] == PNG and out[5].metadata == {"image/png": {"height": 40}}
    assert out[6].evalue == "x<script>"  # errors (the grade) are never touched
    assert nb.cells[2].metadata["tags"] == ["raises-exception"]
    assert "widgets" not in nb.metadata
    assert notes == ["1 output(s) that could run code in a browser were removed"]
    after, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    assert "__pwned" not in after and "onerror" not in after.split("<body")[1]


def test_sanitize_step_runs_in_finish_notes_and_never_touches_the_grade():
    from autograder.score import score_notebook
    from autograder.steps import FINISH, Submission

    assert FINISH[-1] is Sanitize
    released, nb = _notebook()
    nb.cells[2].metadata["nbgrader"] = {"grade": True, "grade_id": "test_x", "points": 1, "solution": False,
                                        "locked": True, "schema_version": 3}
    sub = Submission(released)
    before = [(i.grade_id, i.status, i.message) for i in score_notebook(copy.deepcopy(nb))]
    nb2, _ = Sanitize()(nb, {"autograder": sub})  # as steps.run calls it (a step that is off does nothing)
    assert [(i.grade_id, i.status, i.message) for i in score_notebook(nb2)] == before
    assert sub.notes == ["1 output(s) that could run code in a browser were removed"]
    nbformat.validate(nb2)


def test_grades_own_feedback_page_shows_learner_text_as_text(tmp_path):
    """``grade``'s feedback page: the learner's code, notes and messages escaped, under a policy
    that allows no script even if something were not."""
    from autograder.feedback import write_page
    from autograder.grade import Result
    from autograder.score import Item

    hostile = VECTORS["img-onerror"] + VECTORS["script"]
    nb = new_notebook(cells=[new_code_cell(hostile)])
    nb.cells[0].metadata["nbgrader"] = {"solution": True, "grade_id": "sigmoid", "grade": False, "locked": False}
    nb.metadata["autograder"] = {"notes": [hostile]}
    result = Result("s1", "02_activations", 0.0, 1.0, "graded", hostile,
                    [Item("test_sigmoid", 0.0, 1.0, "failed", hostile, adjustment=hostile)])
    write_page(result, nb, tmp_path / "page.html")
    page = (tmp_path / "page.html").read_text()
    assert problems(page.split("<body>")[1]) == [] and page.count("&lt;script&gt;") >= 3  # shown, as text
    assert "<meta http-equiv=\"Content-Security-Policy\"\ncontent=\"default-src 'none'" in page
