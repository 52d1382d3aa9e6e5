/**
 * Which repositories a Bitbucket refresh reads, and in what order. Bitbucket Cloud allows 1,000
 * requests an hour per user (support.atlassian.com/bitbucket-cloud/docs/api-request-limits/)
 * and a repository costs about five, so an organisation cannot be read in full every refresh.
 * The workspace listing (100 repositories a request) carries each repository's `updated_on`:
 * a repository is read when it moved since its last read, once more `SETTLE_MS` after the move
 * (for what lands after a push: pipeline results, Code Insights reports), while its pipelines run, and
 * otherwise once every `full_refresh` (open pull requests can change without moving
 * `updated_on`), those re-reads spread over the refreshes. The rest keep the values of their
 * last read. Pure: the collector does the reading.
 */
import type { RepoRef } from './bitbucket-api.js';
import type { RepoState } from './incremental-state.js';

/** What arrives after a push without moving `updated_on` again has usually arrived by then. */
export const SETTLE_MS = 30 * 60 * 1000;

/**
 * Why a repository is read this refresh, most urgent first: never read; `updated_on` moved;
 * no `updated_on` to go by (Data Center, or not in the listing); the settle re-read after a
 * move; pipelines were running; `full_refresh` has passed.
 */
export type ReadReason = 'new' | 'changed' | 'unlisted' | 'settle' | 'running' | 'due';
const URGENCY: readonly ReadReason[] = ['new', 'changed', 'unlisted', 'settle', 'running', 'due'];

export interface PlannedRead {
  repo: RepoRef;
  reason: ReadReason;
}

export interface RefreshPlan {
  /** In the order to read them: when the budget runs out, the rest wait for the next refresh. */
  reads: PlannedRead[];
  /** Not read: their last read stands. */
  kept: RepoRef[];
}

export function planRefresh(
  repos: readonly RepoRef[],
  states: Readonly<Record<string, RepoState | undefined>>,
  nowMs: number,
  opts: { fullRefreshMs: number; intervalMs: number },
): RefreshPlan {
  const reads: Array<PlannedRead & { lastAt: number }> = [];
  const due: Array<{ repo: RepoRef; lastAt: number }> = [];
  const kept: RepoRef[] = [];
  for (const repo of repos) {
    const read = states[repo.slug]?.read;
    if (!read) {
      reads.push({ repo, reason: 'new', lastAt: Number.NEGATIVE_INFINITY });
      continue;
    }
    const reason: ReadReason | undefined =
      repo.updatedMs === undefined
        ? 'unlisted'
        : repo.updatedMs !== read.listedUpdatedMs
          ? 'changed'
          : read.settleAfter !== undefined && nowMs >= read.settleAfter
            ? 'settle'
            : read.running
              ? 'running'
              : undefined;
    if (reason) reads.push({ repo, reason, lastAt: read.at });
    else if (nowMs - read.at >= opts.fullRefreshMs) due.push({ repo, lastAt: read.at });
    else kept.push(repo);
  }
  // Spread the full re-reads: a refresh takes its share (repositories × interval / full_refresh),
  // the longest unread first; the others wait, so they never all fall due in one refresh.
  due.sort((a, b) => a.lastAt - b.lastAt);
  const share = Math.max(1, Math.ceil((repos.length * opts.intervalMs) / opts.fullRefreshMs));
  for (const d of due.slice(0, share)) reads.push({ repo: d.repo, reason: 'due', lastAt: d.lastAt });
  kept.push(...due.slice(share).map((d) => d.repo));
  reads.sort((a, b) => URGENCY.indexOf(a.reason) - URGENCY.indexOf(b.reason) || a.lastAt - b.lastAt);
  return { reads: reads.map(({ repo, reason }) => ({ repo, reason })), kept };
}
