"""A small client of a running hub: its REST API, a user's server, and code run in a kernel there.

Used by the hub's end-to-end test and its load test (``benchmarks/bench_hub_capacity.py``).
Everything goes through the hub's public proxy URL with ``Authorization: token ...``; code runs
over the kernel's websocket (Jupyter's messaging protocol, JSON frames), as JupyterLab's Run
All does. Standard library plus ``websocket-client`` (a dependency of jupyter_server).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field


class HubAPIError(RuntimeError):
    pass


def request(url: str, token: str, method: str = "GET", body=None, timeout: float = 30):
    """One HTTP request with a token; the JSON answer (or None), HubAPIError with the status otherwise."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return json.loads(raw) if raw.strip() else None
    except urllib.error.HTTPError as exc:
        raise HubAPIError(f"{method} {url}: HTTP {exc.code} {exc.read()[:300]!r}") from exc


def status(url: str, token: str, method: str = "GET", timeout: float = 30) -> int:
    """Only the HTTP status of a request (no redirect followed)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    req = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


@dataclass
class Hub:
    base: str  # the public URL, e.g. http://127.0.0.1:8000
    admin_token: str

    def api(self, path: str, method: str = "GET", body=None, token: str | None = None, timeout: float = 30):
        return request(f"{self.base}/hub/api{path}", token or self.admin_token, method, body, timeout)

    def user_token(self, user: str, note: str = "ann") -> str:
        """A new API token of ``user`` (what a login gives the browser, for scripts)."""
        return self.api(f"/users/{user}/tokens", "POST", {"note": note, "expires_in": 3600})["token"]

    def start(self, user: str, token: str, timeout: float = 120) -> float:
        """Start ``user``'s server and wait until its API answers through the proxy; seconds taken."""
        t0 = time.monotonic()
        try:
            self.api(f"/users/{user}/server", "POST", token=token)
        except HubAPIError as exc:
            if "HTTP 400" not in str(exc):  # 400: already running
                raise
        url = f"{self.base}/user/{user}/api/status"
        while True:
            try:
                request(url, token, timeout=10)
                return time.monotonic() - t0
            except (HubAPIError, OSError):
                if time.monotonic() - t0 > timeout:
                    raise TimeoutError(f"{user}'s server did not answer in {timeout:.0f} s") from None
                time.sleep(0.3)

    def stop(self, user: str) -> None:
        try:
            self.api(f"/users/{user}/server", "DELETE")
        except HubAPIError:
            pass


@dataclass
class Kernel:
    """A kernel on ``user``'s server, driven over its websocket."""

    hub: Hub
    user: str
    token: str
    id: str = ""
    ws: object = None
    session: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __enter__(self):
        import websocket  # websocket-client

        base = f"{self.hub.base}/user/{self.user}"
        # path "": the kernel starts in the server's root directory (as a notebook there would)
        self.id = request(f"{base}/api/kernels", self.token, "POST", {"name": "python3", "path": ""})["id"]
        ws_url = base.replace("http", "ws", 1) + f"/api/kernels/{self.id}/channels?session_id={self.session}"
        self.ws = websocket.create_connection(ws_url, header=[f"Authorization: token {self.token}"], timeout=120)
        return self

    def __exit__(self, *exc):
        try:
            self.ws.close()
        finally:
            try:
                request(f"{self.hub.base}/user/{self.user}/api/kernels/{self.id}", self.token, "DELETE")
            except (HubAPIError, OSError):
                pass

    def execute(self, code: str, timeout: float = 300) -> dict:
        """Run ``code``; ``{"status", "stdout", "stderr", "error", "results"}`` once the kernel replies."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.user, "session": self.session, "msg_type": "execute_request",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": False},
        }))
        out = {"status": None, "stdout": "", "stderr": "", "error": "", "results": []}
        deadline = time.monotonic() + timeout
        reply = idle = False
        while not (reply and idle):
            self.ws.settimeout(max(1.0, deadline - time.monotonic()))
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind in ("execute_result", "display_data"):
                out["results"].append(content["data"].get("text/plain", ""))
            elif kind == "error":
                out["error"] = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                out["status"], reply = content["status"], True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            if time.monotonic() > deadline:
                raise TimeoutError(f"code on {self.user}'s kernel did not finish in {timeout:.0f} s")
        return out
