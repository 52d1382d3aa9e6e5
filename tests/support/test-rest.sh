#!/usr/bin/env bash
# The second half of `npm test`, after the unit suite: the integration suite (real Prometheus,
# Alertmanager, VictoriaMetrics, Chromium; it mostly waits on real time) and the unit suite at
# six faked instants (CPU-bound) run side by side, which keeps `npm test` within CI's 15 minutes
# on two cores. Both always run to the end; the exit code is non-zero when either failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

npx vitest run --project integration &
integration=$!
bash tests/support/test-at-instants.sh > >(sed -u 's/^/[instants] /') 2>&1 &
instants=$!

wait "$integration"; integration_rc=$?
wait "$instants"; instants_rc=$?
echo "integration suite: exit $integration_rc; unit suite at six instants: exit $instants_rc"
[ "$integration_rc" -eq 0 ] && [ "$instants_rc" -eq 0 ]
