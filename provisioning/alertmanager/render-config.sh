#!/bin/sh
# Alertmanager does not read the environment. This entrypoint fills the ${VAR:-default}
# placeholders of the generated alertmanager.yml from it (the rule expandEnv in
# src/generate/provisioning.ts applies in tests), then starts Alertmanager on the result.
#   render-config.sh [template] [output] [alertmanager flags...]
# RENDER_ONLY=1 writes the output and exits (tests use it).
set -eu
src="${1:-/etc/alertmanager/alertmanager.yml}"
dst="${2:-/tmp/alertmanager.yml}"
[ "$#" -gt 0 ] && shift
[ "$#" -gt 0 ] && shift
awk '{
  out = ""
  while (match($0, /\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}/)) {
    token = substr($0, RSTART + 2, RLENGTH - 3)
    name = token; dflt = ""
    i = index(token, ":-")
    if (i > 0) { name = substr(token, 1, i - 1); dflt = substr(token, i + 2) }
    val = ((name in ENVIRON) && ENVIRON[name] != "") ? ENVIRON[name] : dflt
    out = out substr($0, 1, RSTART - 1) val
    $0 = substr($0, RSTART + RLENGTH)
  }
  print out $0
}' "$src" > "$dst"
[ "${RENDER_ONLY:-0}" = "1" ] && exit 0
exec "${ALERTMANAGER_BIN:-/bin/alertmanager}" --config.file="$dst" "$@"
