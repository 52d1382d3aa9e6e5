/**
 * The simulated organisation the demo's sources describe (SimulationWorld): the OKR file's
 * calendar, and the coverage trend of its two SonarQube projects, which Bitbucket's Code
 * Insights reports follow too.
 *
 * Coverage follows a per-quarter trend anchored at the quarter the data sets were built in
 * (`anchorMs`): topups-api starts it at 62 % and gains 7 points over the quarter (≈ 4–5 points
 * two thirds in), admin-portal starts at 50 % and gains 3; the previous quarter gained 4 and
 * 1.5. With the "+5 points every quarter" KR (baseline at the period start, average of both
 * projects) that is a little behind at any point of the quarter.
 */
import type { Calendar } from '../core/periods.js';
import { quarterLookup, type SimulationWorld } from '../core/simulation.js';

interface CoverageProfile {
  /** Coverage (percent) when the anchor quarter starts, and points gained per quarter. */
  atStart: number;
  riseBefore: number;
  riseFrom: number;
}

const COVERAGE: Record<string, CoverageProfile> = {
  'topups-api': { atStart: 62, riseBefore: 4, riseFrom: 7 },
  'admin-portal': { atStart: 50, riseBefore: 1.5, riseFrom: 3 },
};

export function demoWorld(calendar: Calendar, anchorMs: number): SimulationWorld {
  const quarter = quarterLookup(calendar);
  return {
    calendar,
    quarter,
    /**
     * Linear within each quarter: `riseBefore` points over the quarter before the anchor
     * quarter, `riseFrom` over the anchor quarter and each one after (capped at 95 %).
     */
    coverage(project, tMs) {
      const p = COVERAGE[project];
      if (!p) throw new Error(`demo world: no coverage trend for project ${project}`);
      const anchor = quarter(anchorMs);
      if (tMs < anchor.current.start) return p.atStart - (p.riseBefore * (anchor.current.start - tMs)) / (anchor.current.start - anchor.previous.start);
      let v = p.atStart;
      let q = anchor.current;
      while (tMs >= q.end) {
        v += p.riseFrom;
        q = quarter(q.end).current;
      }
      v += (p.riseFrom * (tMs - q.start)) / (q.end - q.start);
      return Math.min(95, v);
    },
  };
}
