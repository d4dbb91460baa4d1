"""Learner content made inert before an instructor looks at it (first of two layers).

Everything a learner authors or their code displays ends up in the autograded notebook,
and formgrader, nbgrader's feedback HTML and JupyterLab render it in the instructor's
browser. ``Sanitize`` (the last step of ``steps.FINISH``, and a step of nbgrader's
``GenerateFeedback``) rewrites that notebook so that none of it can run: an explicit
allow-list sanitizer (nh3, the binding of Ammonia) for every piece of HTML, and an
allow-list of output types for everything else.

* **markdown cells** the learner wrote or changed (any not identical to a markdown cell of
  the released lesson): kept as they are when they hold no HTML, entity or unusual link;
  otherwise replaced by their rendering (nbconvert's markdown) passed through ``clean``.
  Formatting and ``$math$`` survive (MathJax reads the text). Attachments: PNG, JPEG, GIF only;
* **outputs** keep ``text/plain``, ``image/png``/``jpeg``/``gif`` (matplotlib's figures),
  ``text/latex`` and the other plain-data types of ``KEEP``; ``text/html`` (pandas tables
  too) and ``image/svg+xml`` pass through ``clean`` / ``clean_svg``; ``text/markdown`` is
  treated as a markdown cell; ``application/javascript`` and every other type (widget
  views included) are dropped, with a ``text/plain`` line saying so where nothing else is left;
  output metadata keeps only numeric ``width``/``height`` (nbconvert writes them into
  ``<img>`` unquoted);
* **cell tags** that are not plain words are dropped (nbconvert writes them into a ``class``),
  and the notebook's widget state (``metadata.widgets``) is removed.

``csv_cell`` does the same for spreadsheets: every CSV the project writes (``grades.csv``,
``items.csv``, the report's, ``export``'s, ``import-report.csv``) goes through ``csv_writer``.

Stream text, errors and code are left alone: nbconvert and formgrader escape them, and
the grade comes from the test cells' errors, which this step never touches.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache

import nh3
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool

# ---------------------------------------------------------------- the allow-lists
TAGS = (set(nh3.ALLOWED_TAGS) - {"map", "area"}) | {"tfoot"}
# what pandas' to_html, markdown and simple HTML need; no id/name (DOM clobbering), no style with URLs
ATTRIBUTES = {
    "*": {"class", "title", "align", "dir", "lang"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "ol": {"start", "type"},
    "col": {"span"}, "colgroup": {"span"},
    "table": {"border", "summary"},
    "blockquote": {"cite"}, "q": {"cite"}, "del": {"cite", "datetime"}, "ins": {"cite", "datetime"},
    "span": {"style"}, "div": {"style"}, "p": {"style"},
}
for _t in ("table", "tr", "td", "th", "thead", "tbody"):
    ATTRIBUTES.setdefault(_t, set()).add("style")
STYLE_PROPERTIES = {"color", "background-color", "text-align", "font-weight", "font-style", "text-decoration",
                    "border", "border-collapse", "padding", "margin", "width", "height", "vertical-align",
                    "white-space", "font-family", "font-size"}  # none of them can hold a url()
URL_SCHEMES = {"http", "https", "mailto", "attachment", "data"}  # data: only for images (``_attribute``)
IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*$", re.I)

SVG_TAGS = {"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan",
            "defs", "clippath", "title", "desc", "lineargradient", "radialgradient", "stop"}
SVG_ATTRIBUTES = {"*": {"id", "class", "transform", "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width",
                        "stroke-linecap", "stroke-linejoin", "stroke-dasharray", "stroke-opacity", "opacity",
                        "clip-path", "clip-rule", "font-size", "font-family", "font-weight", "text-anchor", "x", "y",
                        "dx", "dy", "width", "height", "d", "points", "cx", "cy", "r", "rx", "ry", "x1", "x2", "y1",
                        "y2", "offset", "stop-color", "stop-opacity", "viewbox", "xmlns", "version",
                        "preserveaspectratio", "gradientunits", "clippathunits"}}
REFERENCE = re.compile(r"url\(\s*['\"]?(?!#)", re.I)  # a url() that is not a same-document #id

# plain-data output types kept as they are (nbconvert escapes text, and shows images as <img>)
KEEP = {"text/plain", "image/png", "image/jpeg", "image/gif", "text/latex", "application/json",
        "application/pdf"}
HTML_TYPES = {"text/html"}
DROPPED = "[removed by the grader: this output could run code in the instructor's browser]"
PLAIN_TAG = re.compile(r"^[\w\-.]+$")


def _attribute(tag: str, attr: str, value: str) -> str | None:
    """nh3's per-attribute filter: ``data:`` only as an image's PNG/JPEG/GIF, no ``url()`` in styles."""
    if value.lower().lstrip().startswith("data:") and not (tag == "img" and attr == "src" and IMAGE_DATA.match(value)):
        return None
    if attr == "style" and ("url" in value.lower() or "expression" in value.lower() or "\\" in value):
        return None
    return value


def clean(html: str) -> str:
    """``html`` with only the allow-list's tags, attributes, styles and URL schemes left
    (``script``/``style``/``iframe``/``object``… removed with their content)."""
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_attribute, url_schemes=URL_SCHEMES,
                     clean_content_tags={"script", "style", "iframe", "object", "embed", "noscript", "template",
                                         "textarea", "title", "xmp", "noembed", "noframes", "frameset"},
                     filter_style_properties=STYLE_PROPERTIES, strip_comments=True, link_rel="noopener noreferrer")


def clean_svg(svg: str) -> str:
    """An SVG figure with its shapes and text only: no script, event handler, link, ``<use>``,
    ``foreignObject``, animation or external reference."""
    out = nh3.clean(svg, tags=SVG_TAGS, attributes=SVG_ATTRIBUTES, url_schemes=set(), strip_comments=True,
                    attribute_filter=lambda t, a, v: None if REFERENCE.search(v) or "javascript" in v.lower() else v,
                    clean_content_tags={"script", "style", "foreignobject", "iframe", "object", "embed"},
                    link_rel=None)
    return out


# ---------------------------------------------------------------- markdown
LINK = re.compile(r"\]\(\s*([^)\s]*)|^\s{0,3}\[[^\]]+\]:\s*(\S+)", re.M)
SAFE_LINK = re.compile(r"^(https?:|mailto:|attachment:|#|/|\.|[\w\-./]*$)", re.I)


def markdown_is_plain(source: str) -> bool:
    """True when ``source`` can only render to harmless HTML: no raw HTML (``<``), no entity
    (``&``: an entity can spell ``javascript:``), and every link to http(s), mailto, an
    attachment, an anchor or a relative path."""
    if "<" in source or "&" in source:
        return False
    return all(SAFE_LINK.match(a or b) for a, b in LINK.findall(source))


@lru_cache(maxsize=1)
def _markdown():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune


def clean_markdown(source: str) -> str:
    """``source`` itself when it is plain markdown, else its HTML rendering, cleaned
    (markdown renders HTML as it is; ``$…$`` math stays text for MathJax)."""
    if markdown_is_plain(source):
        return source
    return clean(_markdown()(source))


# ---------------------------------------------------------------- a notebook
def clean_output(out: NotebookNode) -> int:
    """Make one output inert in place; returns how many of its representations were removed
    (widget views not counted: their ``text/plain`` stays, and a tqdm bar is not worth a note)."""
    if out.get("output_type") not in ("display_data", "execute_result"):
        return 0
    data, removed = out.get("data", {}), 0
    had = bool(data)
    for mime in list(data):
        value = data[mime]
        text = "".join(value) if isinstance(value, list) else value
        if mime in KEEP:
            continue
        if mime in HTML_TYPES and isinstance(text, str):
            data[mime] = clean(text)
        elif mime == "image/svg+xml" and isinstance(text, str):
            data[mime] = clean_svg(text)
        elif mime == "text/markdown" and isinstance(text, str):
            data[mime] = clean_markdown(text)
        else:  # application/javascript, widget views, text/x-…, anything unknown
            del data[mime]
            removed += not mime.startswith("application/vnd.jupyter.widget")  # a progress bar is no news
    if had and not data:
        data["text/plain"] = DROPPED
    meta = out.get("metadata")
    if isinstance(meta, dict):
        kept = {}
        for mime, m in meta.items():
            if mime in data and isinstance(m, dict):
                kept[mime] = {k: v for k, v in m.items() if k in ("width", "height") and isinstance(v, int | float)
                              and not isinstance(v, bool)}
        out["metadata"] = kept
    return removed


def clean_notebook(nb: NotebookNode, released: NotebookNode | None = None) -> list[str]:
    """Make ``nb`` inert in place; the markdown cells of ``released`` (the instructor's) are kept.

    Returns a note per kind of thing removed (empty when there was nothing to do)."""
    trusted = {c.source for c in released.cells if c.cell_type == "markdown"} if released is not None else set()
    dropped = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source not in trusted:
            cell.source = clean_markdown(cell.source)
        if cell.cell_type in ("markdown", "raw") and "attachments" in cell:
            for name, bundle in list(cell.attachments.items()):
                keep = {k: v for k, v in bundle.items() if k in ("image/png", "image/jpeg", "image/gif")}
                if keep:
                    cell.attachments[name] = keep
                else:
                    del cell.attachments[name]
        if cell.cell_type == "raw":  # nbconvert's HTML shows raw cells meant for HTML as they are
            fmt = cell.metadata.get("format") or cell.metadata.get("raw_mimetype") or ""
            if "html" in str(fmt).lower() or not fmt:
                cell.source = clean(cell.source)
        for out in cell.get("outputs", []):
            dropped += clean_output(out)
        tags = cell.metadata.get("tags")
        if isinstance(tags, list):
            cell.metadata["tags"] = [t for t in tags if isinstance(t, str) and PLAIN_TAG.match(t)]
    nb.metadata.pop("widgets", None)
    notes = []  # markdown made safe is not worth a note: math with "<" is enough to render it
    if dropped:
        notes.append(f"{dropped} output(s) that could run code in a browser were removed")
    return notes


class Sanitize(Preprocessor):
    """The grading step (last of ``steps.FINISH``; also in nbgrader's ``GenerateFeedback``):
    ``clean_notebook`` on the autograded notebook, the released lesson's markdown trusted."""

    enabled = Bool(True, help="Whether learner content is sanitized (never turn it off)").tag(config=True)

    def preprocess(self, nb, resources):
        sub = resources.get("autograder")
        notes = clean_notebook(nb, getattr(sub, "released", None))
        if sub is not None:
            sub.notes += notes
        return nb, resources


# ---------------------------------------------------------------- CSV cells
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell a spreadsheet will not run: text starting with ``= + - @``, tab or CR gets the
    usual ``'`` prefix (formula injection); numbers, and text that is a number (``-1.5``), stay."""
    if not isinstance(value, str) or not value.startswith(FORMULA):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


class _SafeWriter:
    def __init__(self, fh, **kwargs):
        self._w = csv.writer(fh, **kwargs)

    def writerow(self, row):
        return self._w.writerow([csv_cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(fh, **kwargs) -> _SafeWriter:
    """``csv.writer`` whose every cell goes through ``csv_cell``: how the project writes each CSV."""
    return _SafeWriter(fh, **kwargs)


def make_csv_safe(path) -> None:
    """Rewrite a CSV written by someone else (nbgrader's export) with ``csv_cell`` on every cell."""
    from pathlib import Path

    path = Path(path)
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    with path.open("w", newline="") as fh:
        csv_writer(fh).writerows(rows)
