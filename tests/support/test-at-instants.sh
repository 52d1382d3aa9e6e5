#!/usr/bin/env bash
# The unit suite (every test that does not start a real Prometheus) at instants where calendar
# bugs show: a month's first minutes, a quarter's and a year's last minutes (31 December), a leap day, and the
# two DST changes of the year in a process running in that time zone. libfaketime moves the
# clock of this process and every Node child it spawns; the clock then runs on from the instant.
# Static Go binaries (promtool) keep the real clock: the promtool rule tests, which run on
# promtool's own virtual clock, are in the integration project (vitest.config.ts). Test files share
# their workers' module cache here (--isolate=false): half the time of the isolated run. Usage: tests/support/test-at-instants.sh [vitest args...]
set -euo pipefail
cd "$(dirname "$0")/../.."

lib=$(find /usr/lib -path "*/faketime/libfaketime.so.1" 2>/dev/null | head -n 1 || true)
if [ -z "$lib" ]; then
  echo "test-at-instants: libfaketime not found; install it: sudo apt-get install -y faketime" >&2
  exit 1
fi

# UTC instant                 process time zone   why
instants=(
  "2027-02-01T00:10:00Z       UTC                 the 1st of a month at 00:10"
  "2027-12-31T23:50:00Z       UTC                 31 December 23:50: a quarter's and a year's last 10 minutes"
  "2028-02-29T12:00:00Z       UTC                 a leap day"
  "2027-03-28T00:55:00Z       Europe/Berlin       clocks go forward at 01:00 UTC"
  "2027-11-07T05:55:00Z       America/New_York    clocks go back at 06:00 UTC"
)

failed=()
for row in "${instants[@]}"; do
  read -r at tz why <<<"$row"
  # libfaketime reads the start as local time of the process' time zone.
  local_start=$(TZ="$tz" date -d "$at" '+%Y-%m-%d %H:%M:%S')
  echo "== unit suite at $at ($tz, $why)"
  if ! TZ="$tz" LD_PRELOAD="$lib" FAKETIME="@$local_start" FAKETIME_DONT_FAKE_MONOTONIC=1 \
    npx vitest run --project unit --isolate=false --reporter=dot "$@"; then
    failed+=("$at ($tz)")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "test-at-instants: the unit suite failed at: ${failed[*]}" >&2
  exit 1
fi
echo "test-at-instants: the unit suite passed at all ${#instants[@]} instants"
