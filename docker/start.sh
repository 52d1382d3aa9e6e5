#!/bin/sh
# The okr-metrics container's entrypoint. With no real credentials configured it runs the demo
# (simulated Jira, SonarQube, Bitbucket and access log) against the compose Prometheus, loading
# the previous quarter into Prometheus' volume; otherwise it serves the OKR file mounted at /config.
#   OKR_CONFIG            the OKR file under /config (default okrs.example.yaml); setting it means "serve"
#   JIRA_API_TOKEN, SONAR_TOKEN, BITBUCKET_ACCESS_TOKEN: any of them set means "serve"
# DRY_RUN=1 prints the command instead of running it (tests use it).
set -eu
cli="node /app/dist/src/cli/main.js"
if [ -n "${OKR_CONFIG:-}${JIRA_API_TOKEN:-}${SONAR_TOKEN:-}${BITBUCKET_ACCESS_TOKEN:-}" ]; then
  set -- $cli serve -c "/config/${OKR_CONFIG:-okrs.example.yaml}" --host 0.0.0.0 --port 9797 "$@"
else
  set -- $cli demo --dir /tmp/okr-demo --host 0.0.0.0 --port 9797 \
    --prometheus-url "${PROMETHEUS_URL:-http://prometheus:9090}" --prometheus-data-dir /prometheus "$@"
fi
if [ "${DRY_RUN:-0}" = "1" ]; then echo "$@"; exit 0; fi
exec "$@"
