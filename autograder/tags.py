"""``python -m autograder.tags``: solutions/ made for Run All; the last cell says where you stand.

Run it after adding cells or a lesson, then ``python -m autograder refresh LESSON``.
Idempotent and robust to added cells (``tests/test_learner_notebooks.py`` checks that the
solutions are as it leaves them).

1. Tags with ``raises-exception`` (JupyterLab then runs the next cells after an error,
   instead of aborting Run All):
   * every graded test cell and every solution cell (an unfinished exercise raises);
   * every other code cell that uses a name defined by a solution cell (the learner's
     functions, ``model``, ...), or a name that only a cell tagged this way defines
     (transitively). The script only adds tags; a stale one just lets Run All go on.
2. Appends (or updates and moves to the end) a markdown cell "Where you stand" and a
   locked code cell calling ``ann_core.checks.progress.progress`` with every graded
   item of the notebook and its points, in order. A lesson without graded items (the start
   page) gets none.

Usage: python -m autograder.tags [REPO] [LESSON ...]     (REPO default: the current directory)
Then: python -m autograder refresh LESSON   (re-executes the solution and releases it).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

TAG = "raises-exception"
MD_ID, CODE_ID = "ann-where-you-stand-md", "ann-where-you-stand"
GRADE_ID = "where_you_stand"


def nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test(cell) -> bool:
    m = nbg(cell)
    return cell["cell_type"] == "code" and bool(m.get("grade")) and not m.get("solution")


def is_solution(cell) -> bool:
    return cell["cell_type"] == "code" and bool(nbg(cell).get("solution"))


def src(cell) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _parse(code: str):
    code = "\n".join("" if re.match(r"\s*[%!]", line) else line for line in code.splitlines())
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def defined(code: str) -> set[str]:
    """Names a cell binds at top level (defs, classes, assignments, imports, loop targets)."""
    tree = _parse(code)
    if tree is None:
        return {a or b for a, b in re.findall(r"^(?:def|class)\s+(\w+)|^(\w+)\s*=", code, re.M)}
    out = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    out.add(sub.id)
    return out


def used(code: str) -> set[str]:
    tree = _parse(code)
    if tree is None:
        return set(re.findall(r"[A-Za-z_]\w*", code))
    params = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}  # a function's own parameters
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - params


def set_tag(cell) -> bool:
    """Add the tag (never removes one: a stale tag only lets Run All go on); True if added."""
    md = cell.setdefault("metadata", {})
    tags = list(md.get("tags", []))
    if TAG in tags:
        return False
    md["tags"] = tags + [TAG]
    return True


def graded_items(cells) -> list[tuple[str, float]]:
    items = []
    for c in cells:
        if is_test(c):
            gid = nbg(c)["grade_id"]
            items.append((gid.removeprefix("test_"), float(nbg(c).get("points", 0))))
    return items


def written_items(cells) -> list[tuple[str, float]]:
    """The written questions: nbgrader's manually graded answer cells (markdown, graded solutions)."""
    return [(nbg(c)["grade_id"], float(nbg(c).get("points", 0))) for c in cells
            if c["cell_type"] == "markdown" and nbg(c).get("grade") and nbg(c).get("solution")]


def progress_cells(lesson: str, items, written=()) -> tuple[dict, dict]:
    pts = ", ".join(f'"{n}": {p:g}' for n, p in items)
    extra = (", written={" + ", ".join(f'"{n}": {p:g}' for n, p in written) + "}") if written else ""
    code = ("# Runs the visible check of every exercise again and adds up your points (it never stops Run All).\n"
            "from ann_core.checks.progress import progress\n"
            f"progress({{{pts}}}, globals(), lesson=\"{lesson}\"{extra})")
    md = {"cell_type": "markdown", "id": MD_ID, "metadata": {},
          "source": "## Where you stand\n\nRun the cell below (or *Run All*) to see which exercises pass and your "
                    "points so far. Before you hand in, run `python -m autograder check` on this notebook, as "
                    "the grader will."}
    cell = {"cell_type": "code", "id": CODE_ID, "execution_count": None, "outputs": [],
            "metadata": {"nbgrader": {"grade": False, "grade_id": GRADE_ID, "locked": True,
                                      "schema_version": 3, "solution": False, "task": False}},
            "source": code}
    return md, cell


def edit(path: Path) -> dict:
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    old = {c.get("id"): c for c in cells if c.get("id") in (MD_ID, CODE_ID)}
    cells[:] = [c for c in cells if c.get("id") not in (MD_ID, CODE_ID)]

    tainted: set[str] = set()
    for c in cells:
        if is_solution(c):
            tainted |= defined(src(c))
    solution_names, safe = set(tainted), set()
    n_tagged = 0
    for c in cells:
        if c["cell_type"] != "code":
            continue
        code = src(c)
        on = is_test(c) or is_solution(c) or bool(used(code) & tainted)
        if is_test(c) or is_solution(c):
            pass
        elif on:  # what it binds stays unbound after an error, unless an earlier cell bound it
            tainted |= defined(code) - safe
        else:
            safe |= defined(code)
            tainted -= defined(code) - solution_names
        if on:
            set_tag(c)
            n_tagged += 1

    lesson = path.stem.split("_", 1)[0]
    md, code = progress_cells(lesson, graded_items(cells), written_items(cells))
    if CODE_ID in old and src(old[CODE_ID]) == code["source"]:
        code = old[CODE_ID]  # keep its stored outputs when nothing changed
    if MD_ID in old and src(old[MD_ID]) == md["source"]:
        md = old[MD_ID]
    if graded_items(cells):  # nothing to stand on in a lesson without exercises
        cells += [md, code]
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    changed = text != path.read_text()
    if changed:
        path.write_text(text)
    return {"lesson": path.parent.name, "tagged": n_tagged, "items": len(graded_items(cells)), "changed": changed}


def main(argv) -> int:
    repo = Path(argv[0]) if argv and Path(argv[0]).is_dir() else Path.cwd()
    wanted = [a for a in argv if not Path(a).is_dir()]
    paths = sorted(p for p in (repo / "solutions").glob("*/*.ipynb")
                   if p.stem == p.parent.name and ".ipynb_checkpoints" not in p.parts)
    if wanted:
        paths = [p for p in paths if any(p.parent.name == w or p.parent.name.split("_")[0] == w for w in wanted)]
    for p in paths:
        r = edit(p)
        print(f"{r['lesson']}: {r['tagged']} cells tagged {TAG}, {r['items']} graded items, "
              f"{'changed' if r['changed'] else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
