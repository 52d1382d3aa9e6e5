#!/usr/bin/env bash
# `npm test`, laid out for CI's two cores and 15 minutes:
#   1. type check, lint and the format check side by side (each single-threaded), then the
#      build (the CLI the tests run);
#   2. the integration suite (real Prometheus, Alertmanager, VictoriaMetrics, promtool, Chromium;
#      it mostly waits on real time) beside the unit suite at five faked instants (CPU-bound;
#      tests/support/test-at-instants.sh). The unit suite is not run a sixth time on the real
#      clock: today is just one more date, and the five instants are the ones where calendar bugs
#      show.
# Every step runs to its end; the exit code is non-zero when any failed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

npx tsc -p tsconfig.json --noEmit > >(sed -u 's/^/[tsc] /') 2>&1 &
tsc=$!
npx eslint . > >(sed -u 's/^/[eslint] /') 2>&1 &
eslint=$!
npx prettier --check --log-level warn . > >(sed -u 's/^/[prettier] /') 2>&1 &
prettier=$!
wait "$tsc"; tsc_rc=$?
wait "$eslint"; eslint_rc=$?
wait "$prettier"; prettier_rc=$?
echo "type check: exit $tsc_rc; lint: exit $eslint_rc; format (prettier --check): exit $prettier_rc"
if [ "$tsc_rc" -ne 0 ] || [ "$eslint_rc" -ne 0 ] || [ "$prettier_rc" -ne 0 ]; then exit 1; fi

npm run build || exit 1

npx vitest run --project integration &
integration=$!
bash tests/support/test-at-instants.sh > >(sed -u 's/^/[instants] /') 2>&1 &
instants=$!

wait "$integration"; integration_rc=$?
wait "$instants"; instants_rc=$?
echo "integration suite: exit $integration_rc; unit suite at five instants: exit $instants_rc"
[ "$integration_rc" -eq 0 ] && [ "$instants_rc" -eq 0 ]
