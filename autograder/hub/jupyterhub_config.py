# JupyterHub's configuration for a class on one server, as `python -m autograder hub` starts it.
#
# The settings (roster, exchange, ports, the instructor's course) come from the JSON file that
# the command writes and names in $ANN_HUB_SETTINGS (STATE/hub.json); see autograder/hub/__init__.py.
#
# - authentication: PAMAuthenticator (JupyterHub's default): the local accounts' own passwords;
# - spawner: LocalProcessSpawner (the default): each server is a plain process run as its user;
# - learners: JupyterLab in learner mode (autograder/jupyter/learner on JUPYTER_CONFIG_PATH) with
#   nbgrader's Assignment List on the shared exchange;
# - the group `instructors` (role `instructor`): JupyterLab on the instructor's copy of the course
#   with every nbgrader tool, formgrader included;
# - jupyterhub-idle-culler as a hub service stops servers left idle.
import json
import os

s = json.loads(open(os.environ["ANN_HUB_SETTINGS"]).read())
c = get_config()  # noqa: F821  (provided by JupyterHub when it reads this file)
py = s["python"]
bindir = os.path.dirname(py)

# --- network: the public proxy, the hub's own API, the proxy's API (all local but the first) ---
c.JupyterHub.ip = s["ip"]
c.JupyterHub.port = s["port"]
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{s['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(s["state"], "jupyterhub-proxy.pid")
c.ConfigurableHTTPProxy.command = [os.environ.get("ANN_HUB_PROXY", "configurable-http-proxy")]
c.JupyterHub.db_url = "sqlite:///" + os.path.join(s["state"], "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(s["state"], "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops the learners' servers

# --- who may log in: the roster, checked by PAM against the local accounts ---
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # no PAM session (no systemd-logind needed)
c.Authenticator.allowed_users = set(s["learners"]) | set(s["instructors"])
c.Authenticator.admin_users = set()  # nobody administers the hub through the web page
c.JupyterHub.load_groups = {
    "learners": {"users": s["learners"]},
    "instructors": {"users": s["instructors"]},
}
c.JupyterHub.load_roles = [
    # the instructor sees who is in the class and whose server is running (no access to them)
    {"name": "instructor", "groups": ["instructors"],
     "scopes": ["self", "list:users", "read:users", "read:servers"]},
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]
c.JupyterHub.services = [
    {"name": "idle-culler",
     "command": [py, "-m", "jupyterhub_idle_culler", f"--timeout={s['cull_idle']}",
                 f"--cull-every={max(5, min(300, s['cull_idle'] // 2))}"]},
]
if os.environ.get("ANN_HUB_ADMIN_TOKEN"):  # automation (the tests, the load test): an admin service
    c.JupyterHub.services.append({"name": "ann-admin", "api_token": os.environ["ANN_HUB_ADMIN_TOKEN"]})
    c.JupyterHub.load_roles.append({"name": "admin", "services": ["ann-admin"]})

# --- each server: a local process run as its user, in the user's home ---
c.Spawner.cmd = [os.path.join(bindir, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.env_keep = ["LANG", "LC_ALL", "TZ"]
c.Spawner.environment = {"PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin", "JUPYTER_PLATFORM_DIRS": "1"}


def per_group(spawner):
    """Learner mode for learners; the course and every nbgrader tool for the group `instructors`."""
    groups = {g.name for g in spawner.user.groups}
    if "instructors" in groups and s["course_dir"]:
        spawner.notebook_dir = s["course_dir"]
    else:
        spawner.environment = {**spawner.environment, "JUPYTER_CONFIG_PATH": os.pathsep.join(s["learner_config"])}


c.Spawner.pre_spawn_hook = per_group
