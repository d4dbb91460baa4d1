"""Hostile learner HTML: what the sanitizer (``autograder.sanitize``) and the instructor's server
(``autograder.instructor``) must each stop. Every script payload, if it ran, sets
``window.__pwned`` (the browser test reads it) and tries to write a file through the
Jupyter server's contents API.

Shared by ``tests/test_sanitize.py`` (each vector through the sanitizer, checked by an
independent parser) and ``tests/browser/test_hostile_instructor.py`` (the real pages).
"""

from __future__ import annotations

from html.parser import HTMLParser

# what a payload runs: mark the page, then try to overwrite a course file with the instructor's session
JS = ("window.__pwned=(window.__pwned||0)+1;"
      "fetch('/api/contents/pwned.txt',{method:'PUT',headers:{'Content-Type':'application/json'},"
      "body:JSON.stringify({type:'file',format:'text',content:'pwned'})})")
JS_ATTR = JS.replace("'", "&#39;")

VECTORS = {
    "img-onerror": f'<img src="x" onerror="{JS_ATTR}">',
    "script": f"<script>{JS}</script>",
    "svg-onload": f'<svg onload="{JS_ATTR}"><circle r="2"/></svg>',
    "svg-script": f"<svg><script>{JS}</script></svg>",
    "iframe-srcdoc": f'<iframe srcdoc="<script>parent.{JS_ATTR}</script>"></iframe>',
    "iframe-js": f'<iframe src="javascript:parent.{JS_ATTR}"></iframe>',
    "object-data": '<object data="data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0xPC9zY3JpcHQ+"></object>',
    "embed": f'<embed src="javascript:{JS_ATTR}">',
    "a-javascript": f'<a id="clickme" href="javascript:{JS_ATTR}">click</a>',
    "a-entity-javascript": '<a href="jav&#x61;script:window.__pwned=1">click</a>',
    "a-data-html": '<a href="data:text/html,<script>alert(1)</script>">click</a>',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=1">',
    "form": f'<form action="javascript:{JS_ATTR}"><button id="go">go</button></form>',
    "style-url": '<div style="background:url(http://127.0.0.1:9/leak)">x</div>',
    "style-tag": "<style>body{background:url(http://127.0.0.1:9/leak)}</style>",
    "details-ontoggle": f'<details open ontoggle="{JS_ATTR}"><summary>s</summary></details>',
    "body-onload": f'<body onload="{JS_ATTR}">',
    "math-xlink": '<math><maction actiontype="statusline" xlink:href="javascript:window.__pwned=1">x</maction></math>',
    "base-href": '<base href="javascript:/">',
    "link-import": '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
    "input-autofocus": f'<input autofocus onfocus="{JS_ATTR}">',
    "video-onerror": f'<video><source onerror="{JS_ATTR}"></video>',
    "noscript-breakout": f'<noscript><p title="</noscript><img src=x onerror={JS_ATTR}>">',
    "comment-breakout": f'<!--><img src=x onerror="{JS_ATTR}">-->',
}

MARKDOWN_VECTORS = {
    "md-link-javascript": "[click](javascript:window.__pwned=1)",
    "md-data-html": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "md-autolink-javascript": "<javascript:window.__pwned=1>",
    "md-ref-link": "[click][r]\n\n[r]: javascript:window.__pwned=1",
}

# an SVG figure with a script inside, as learner code would display it (image/svg+xml)
SVG_OUTPUT = (f'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="{JS_ATTR}">'
              f'<script>{JS}</script><a href="javascript:{JS_ATTR}"><rect width="5" height="5"/></a>'
              '<foreignObject><iframe src="javascript:1"></iframe></foreignObject>'
              '<use href="http://127.0.0.1:9/x.svg#a"/></svg>')

BAD_TAGS = {"script", "iframe", "object", "embed", "form", "meta", "base", "link", "style", "frame", "frameset",
            "applet", "foreignobject", "use", "animate", "set", "input", "button", "textarea", "select", "math"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text", "data:image/svg", "data:application")


class Inert(HTMLParser):
    """A second, independent judge: stdlib's HTML parser lists whatever in a fragment could run."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag.lower() in BAD_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            v = "".join((value or "").split()).lower()
            if name.lower().startswith("on"):
                self.problems.append(f"{tag} {name}=")
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "poster",
                                "background") and v.startswith(BAD_SCHEMES):
                self.problems.append(f"{tag} {name}={v[:30]}")
            if name.lower() == "srcdoc":
                self.problems.append(f"{tag} srcdoc")
            if name.lower() == "style" and ("url(" in v or "expression(" in v or "@import" in v):
                self.problems.append(f"{tag} style with a URL")

    handle_startendtag = handle_starttag


def problems(html: str) -> list[str]:
    """What in ``html`` could run or load something (empty: inert)."""
    judge = Inert()
    judge.feed(html)
    judge.close()
    return judge.problems
