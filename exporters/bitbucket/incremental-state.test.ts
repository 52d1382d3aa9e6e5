import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { tempStateDir } from './testing/bitbucket-test-kit.js';
import {
  addId,
  emptyHistogram,
  foldMergedPullRequests,
  foldPipelines,
  hasId,
  newPipelineState,
  newRepoState,
  observe,
  OVERLAP_MS,
  pullRequestQueryStart,
  STALE_PIPELINE_MS,
} from './incremental-state.js';
import { emptyState, loadState, saveState, STATE_FILE_NAME } from './state-file.js';

const BOUNDS = [10, 20, 30];

describe('id ranges', () => {
  it('merges neighbours and answers membership', () => {
    let r = addId([], 5);
    r = addId(r, 7);
    expect(r).toEqual([
      [5, 5],
      [7, 7],
    ]);
    r = addId(r, 6);
    expect(r).toEqual([[5, 7]]);
    r = addId(addId(addId(r, 1), 10), 9);
    expect(r).toEqual([
      [1, 1],
      [5, 7],
      [9, 10],
    ]);
    expect(addId(r, 6)).toBe(r);
    expect([0, 1, 2, 4, 5, 7, 8, 9, 10, 11].map((id) => hasId(r, id))).toEqual([false, true, false, false, true, true, false, true, true, false]);
  });
});

describe('histogram state', () => {
  it('puts a value on a bound into that bucket (le is inclusive) and past the last into +Inf', () => {
    const h = emptyHistogram(BOUNDS);
    for (const v of [0, 10, 10.5, 30, 31]) observe(h, BOUNDS, v);
    expect(h).toEqual({ buckets: [2, 1, 1, 1], sum: 81.5, count: 5 });
  });
});

describe('merged pull requests', () => {
  it('counts each id once, remembers merges before tracking began without counting them, and re-reads a window behind the watermark', () => {
    const repo = newRepoState(1000, BOUNDS);
    expect(pullRequestQueryStart(repo)).toBe(1000);
    const added = foldMergedPullRequests(
      repo,
      [
        { id: 1, openedMs: 0, mergedMs: 500 }, // before `since`: context
        { id: 2, openedMs: 1000, mergedMs: 16_000 },
        { id: 3, openedMs: 1000, mergedMs: 26_000 },
        { id: 2, openedMs: 1000, mergedMs: 16_000 }, // twice in one listing
      ],
      BOUNDS,
    );
    expect(added).toBe(2);
    expect(repo.pullRequests).toEqual({ watermark: 26_000, counted: [[1, 3]], merged: 2, cycleTime: { buckets: [0, 1, 1, 0], sum: 40, count: 2 } });
    expect(pullRequestQueryStart(repo)).toBe(1000); // the overlap cannot reach before `since`
    repo.pullRequests.watermark = 10 * OVERLAP_MS;
    expect(pullRequestQueryStart(repo)).toBe(9 * OVERLAP_MS);
    expect(foldMergedPullRequests(repo, [{ id: 3, openedMs: 0, mergedMs: 99 * OVERLAP_MS }], BOUNDS)).toBe(0);
    // On Cloud a comment moves `updated_on` (the merge-time proxy): the context merge is still not counted.
    expect(foldMergedPullRequests(repo, [{ id: 1, openedMs: 0, mergedMs: 99 * OVERLAP_MS }], BOUNDS)).toBe(0);
    expect(repo.pullRequests.merged).toBe(2);
  });
});

describe('pipelines', () => {
  const now = 100 * STALE_PIPELINE_MS;
  it('holds the watermark below a running build and counts a late finisher once', () => {
    const st = newPipelineState(BOUNDS);
    foldPipelines(
      st,
      [
        { buildNumber: 12, createdMs: now - 1000, completedMs: now, result: 'successful' },
        { buildNumber: 11, createdMs: now - 5000 },
        { buildNumber: 10, createdMs: now - 9000, completedMs: now - 4000, result: 'failed' },
      ],
      BOUNDS,
      now,
      0,
    );
    expect(st.watermark).toBe(10);
    expect(st.countedAbove).toEqual([12]);
    expect(st.results).toEqual({ successful: 1, failed: 1, error: 0, stopped: 0, expired: 0 });
    // Next refresh: 11 finished (stopped), 12 is listed again, 13 has an unknown result.
    foldPipelines(
      st,
      [
        { buildNumber: 13, createdMs: now, completedMs: now + 1000, result: 'halted' },
        { buildNumber: 12, createdMs: now - 1000, completedMs: now, result: 'successful' },
        { buildNumber: 11, createdMs: now - 5000, completedMs: now + 20_000, result: 'stopped' },
      ],
      BOUNDS,
      now + 30_000,
      0,
    );
    expect(st.watermark).toBe(13);
    expect(st.countedAbove).toEqual([]);
    expect(st.results).toEqual({ successful: 1, failed: 1, error: 0, stopped: 1, expired: 0 });
    expect(st.duration).toEqual({ buckets: [2, 0, 1, 0], sum: 1 + 5 + 25, count: 3 });
  });

  it('stops waiting for a build unfinished for longer than a day', () => {
    const st = newPipelineState(BOUNDS);
    foldPipelines(
      st,
      [
        { buildNumber: 3, createdMs: now - 1000, completedMs: now, result: 'successful' },
        { buildNumber: 2, createdMs: now - STALE_PIPELINE_MS - 1 },
      ],
      BOUNDS,
      now,
      0,
    );
    expect(st.watermark).toBe(3);
  });

  it('on a first read, passes what completed before the start and counts a build running then once it completes', () => {
    const st = newPipelineState(BOUNDS);
    const runs = [
      { buildNumber: 9, createdMs: now - 2000 },
      { buildNumber: 8, createdMs: now - 9000, completedMs: now - 4000, result: 'failed' },
      { buildNumber: 7, createdMs: now - 20_000, result: 'successful' }, // no completion time: before
    ];
    expect(foldPipelines(st, runs, BOUNDS, now, now)).toBe(0);
    expect(st.results).toEqual({ successful: 0, failed: 0, error: 0, stopped: 0, expired: 0 });
    expect(st.duration.count).toBe(0);
    expect(st.watermark).toBe(8);
    expect(
      foldPipelines(
        st,
        [
          { buildNumber: 10, createdMs: now + 1000, completedMs: now + 3000, result: 'successful' },
          { ...runs[0]!, completedMs: now + 1000, result: 'stopped' },
        ],
        BOUNDS,
        now + 5000,
        now,
      ),
    ).toBe(2);
    expect(st.results).toEqual({ successful: 1, failed: 0, error: 0, stopped: 1, expired: 0 });
    expect(st.duration).toEqual({ buckets: [2, 0, 0, 0], sum: 2 + 3, count: 2 });
    expect(st.watermark).toBe(10);
  });
});

describe('state file', () => {
  let dir: ReturnType<typeof tempStateDir>;
  beforeEach(() => {
    dir = tempStateDir();
  });
  afterEach(() => dir.remove());

  it('round-trips through an atomic replace and leaves no temporary file', async () => {
    const st = emptyState('cloud x ws', BOUNDS, [1]);
    st.repos.api = newRepoState(5, BOUNDS);
    st.repos.api.pullRequests.counted = [[1, 4]];
    await saveState(dir.dir, st);
    await saveState(dir.dir, st);
    expect(readdirSync(dir.dir)).toEqual([STATE_FILE_NAME]);
    expect(await loadState(dir.dir, 'cloud x ws', BOUNDS, [1], silentLogger())).toEqual(st);
  });

  it('starts fresh on an invalid file (kept aside), another scope, or other buckets', async () => {
    const file = join(dir.dir, STATE_FILE_NAME);
    writeFileSync(file, '{"version":1,"repos":');
    expect(await loadState(dir.dir, 's', BOUNDS, [1], silentLogger())).toEqual(emptyState('s', BOUNDS, [1]));
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(`${file}.invalid`, 'utf8')).toBe('{"version":1,"repos":');

    const st = emptyState('s', BOUNDS, [1]);
    st.repos.api = newRepoState(5, BOUNDS);
    await saveState(dir.dir, st);
    expect((await loadState(dir.dir, 'other', BOUNDS, [1], silentLogger())).repos).toEqual({});
    expect((await loadState(dir.dir, 's', [10, 20], [1], silentLogger())).repos).toEqual({});
    expect((await loadState(dir.dir, 's', BOUNDS, [1], silentLogger())).repos.api).toEqual(st.repos.api);
  });
});
