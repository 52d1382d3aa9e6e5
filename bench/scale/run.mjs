#!/usr/bin/env node
/**
 * Scale benchmark: a 500-engineer organisation in the test fakes (100 Jira boards, 500 Bitbucket
 * Cloud repositories, 2,000 SonarQube projects; see organisation.mjs), each source collected by
 * its real collector under the real SourceRunner and rendered by the real exposition, in a child
 * process of its own (refresh-child.mjs). Per source and refresh it prints requests, duration,
 * the child's RSS (now and peak) and the /metrics text the source adds (bytes, series):
 *   first      empty state directory: everything is read
 *   unchanged  one refresh interval later, nothing changed
 *   changed    one interval later, a little changed (a few issues done and a sprint closed; five
 *              repositories with a merge, a pipeline and a coverage report; 20 new analyses)
 *   day        24 hours of refreshes at the default interval, a little changing before every
 *              other refresh: requests per hour on average and in the busiest hour (what the
 *              providers' hourly limits see, the full_refresh re-reads included); seconds is
 *              the mean duration of a refresh
 * Under a request budget (Bitbucket Cloud's default) the first read is spread over refreshes:
 * "first read complete" adds them up (requests, hours) until nothing is held back.
 * `requests` are the requests sent (the fake counts them too: fake_saw); `held_back` the ones
 * the budget did not send.
 *
 *   npm run bench:scale
 *   node bench/scale/run.mjs --only bitbucket --repos 100
 *   node bench/scale/run.mjs --save-baseline before      # bench/scale/baselines/before.json
 *   node bench/scale/run.mjs --baseline before           # ratios against it
 *   node bench/scale/run.mjs --no-budget                 # max_requests_per_hour: 0 (the full cost, unthrottled)
 *   node bench/scale/run.mjs --no-day                    # skip the simulated day
 *
 * Compiles src/ and exporters/ into bench/out/scale-dist (dist/ is left alone).
 */
import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bitbucketOrganisation, jiraOrganisation, sonarOrganisation } from './organisation.mjs';
import { args, opt } from '../bench-cli.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const out = join(root, 'bench/out/scale');
const dist = join(root, 'bench/out/scale-dist');
const ONLY = opt('only', 'jira,bitbucket,sonarqube').split(',');
const BOARDS = Number(opt('boards', 100));
const REPOS = Number(opt('repos', 500));
const PROJECTS = Number(opt('projects', 2000));
const DAY = !args.includes('--no-day');
const NO_BUDGET = args.includes('--no-budget');
const log = (m) => process.stderr.write(`${m}\n`);
/** The simulated "now" of the organisation (the child's clock starts here). */
const START = Date.UTC(2026, 11, 1, 12);

log('compiling into bench/out/scale-dist ...');
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(here, 'tsconfig.json')], { encoding: 'utf8' });
if (!existsSync(join(dist, 'src/serve/source-runner.js'))) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
const load = (p) => import(pathToFileURL(join(dist, p)).href);

/** Run the phases for one source against a started fake; `change(nowMs)` makes a little happen. */
async function phases(source, dir, yaml, fake, change, intervalMs) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  const config = join(dir, 'okrs.yaml');
  writeFileSync(config, yaml(join(dir, 'state')));
  const child = fork(join(here, 'refresh-child.mjs'), [dist, config, source, String(START)], { env: { ...process.env, BENCH_TOKEN: 'bench-token' } });
  const replies = [];
  let waiting;
  child.on('message', (m) => (waiting ? (waiting(m), (waiting = undefined)) : replies.push(m)));
  const next = () => (replies.length > 0 ? Promise.resolve(replies.shift()) : new Promise((r) => (waiting = r)));
  await next(); // ready
  let now = START;
  const refresh = async (advanceMs) => {
    fake.requests.splice(0);
    now += advanceMs;
    child.send({ cmd: 'refresh', advanceMs });
    const r = await next();
    return { ...r, served: fake.requests.length };
  };
  const rows = [];
  const row = (phase, r) => {
    rows.push({
      source,
      phase,
      requests: r.requests,
      fake_saw: r.served,
      seconds: Number(r.durationS.toFixed(2)),
      rss_mb: Math.round(r.rssMb),
      peak_rss_mb: Math.round(r.peakRssMb),
      metrics_kb: Number((r.metricsBytes / 1024).toFixed(1)),
      series: r.series,
      up: r.up,
      held_back: r.heldBack,
      ...(r.error ? { error: r.error.slice(0, 160) } : {}),
      ...(r.hours !== undefined ? { hours: r.hours } : {}),
    });
    log(
      `  ${source} ${phase}: ${r.requests} requests${r.heldBack ? ` (${r.heldBack} held back)` : ''}, ${r.durationS.toFixed(2)} s, ${r.series} series${r.error ? ` (${r.error.slice(0, 120)})` : ''}`,
    );
  };
  const first = await refresh(0);
  row('first', first);
  if (first.heldBack > 0) {
    // A request budget spread the first read over several refreshes: refresh until nothing is held back.
    let requests = first.requests;
    let served = first.served;
    let seconds = first.durationS;
    let last = first;
    let n = 1;
    while (last.heldBack > 0 && n < 500) {
      last = await refresh(intervalMs);
      requests += last.requests;
      served += last.served;
      seconds += last.durationS;
      n++;
    }
    row(`first read complete (${n} refreshes)`, {
      ...last,
      requests,
      served,
      durationS: seconds,
      heldBack: 0,
      hours: Number((((n - 1) * intervalMs) / 3_600_000).toFixed(1)),
    });
  }
  row('unchanged', await refresh(intervalMs));
  change(now + intervalMs);
  row('changed', await refresh(intervalMs));
  if (DAY) {
    // A day of refreshes, a little changing before every other one: what the providers'
    // hourly limits see once the full re-reads (full_refresh) come round too.
    const n = Math.round((24 * 3_600_000) / intervalMs);
    const perHourRefreshes = Math.round(3_600_000 / intervalMs);
    const sent = [];
    let seconds = 0;
    let heldBack = 0;
    let served = 0;
    let last;
    for (let i = 0; i < n; i++) {
      if (i % 2 === 1) change(now + intervalMs);
      last = await refresh(intervalMs);
      sent.push(last.requests);
      served += last.served;
      seconds += last.durationS;
      heldBack += last.heldBack;
    }
    const total = sent.reduce((a, b) => a + b, 0);
    let busiest = 0;
    for (let i = 0; i + perHourRefreshes <= sent.length; i++)
      busiest = Math.max(
        busiest,
        sent.slice(i, i + perHourRefreshes).reduce((a, b) => a + b, 0),
      );
    row(`day (${n} refreshes), per hour`, {
      ...last,
      requests: Math.round(total / 24),
      served: Math.round(served / 24),
      durationS: seconds / n,
      heldBack: Math.round(heldBack / 24),
    });
    row('day, busiest hour', { ...last, requests: busiest, served: busiest, durationS: seconds / n, heldBack: 0 });
  }
  child.send({ cmd: 'stop' });
  await new Promise((r) => child.on('exit', r));
  return rows;
}

const budget = NO_BUDGET ? '    max_requests_per_hour: 0\n' : '';
const results = [];

if (ONLY.includes('jira')) {
  const { fakeJiraData, startFakeJira } = await load('exporters/jira/simulator/fake-jira.js');
  const org = jiraOrganisation(fakeJiraData, { boards: BOARDS, nowMs: START });
  const fake = await startFakeJira(org.data);
  try {
    log(`jira: ${BOARDS} boards ...`);
    const boards = org.configBoards.map((id) => `      - { id: ${id}, team: team${id % 20} }`).join('\n');
    const queries = Object.entries(org.queries)
      .map(([k, v]) => `      ${k}: '${v}'`)
      .join('\n');
    const yaml = (state) =>
      `version: okr/v1\ncalendar:\n  timezone: UTC\nserver:\n  state_dir: ${state}\nsources:\n  jira:\n    flavor: cloud\n    url: ${fake.url}\n    email: bench@example.com\n    api_token: \${BENCH_TOKEN}\n${budget}    boards:\n${boards}\n    queries:\n${queries}\nobjectives: []\n`;
    results.push(...(await phases('jira', join(out, 'jira'), yaml, fake, org.change, 15 * 60_000)));
  } finally {
    await fake.close();
  }
}

if (ONLY.includes('bitbucket')) {
  const { startFakeCloud } = await load('exporters/bitbucket/simulator/fake-cloud-server.js');
  const org = bitbucketOrganisation({ repos: REPOS, nowMs: START, authorization: 'Bearer bench-token' });
  const fake = await startFakeCloud(org.fixture);
  try {
    log(`bitbucket: ${REPOS} repositories ...`);
    const yaml = (state) =>
      `version: okr/v1\ncalendar:\n  timezone: UTC\nserver:\n  state_dir: ${state}\nsources:\n  bitbucket:\n    flavor: cloud\n    url: ${fake.url}/2.0\n    workspace: acme\n    access_token: \${BENCH_TOKEN}\n${budget}    repositories: all\nobjectives: []\n`;
    results.push(...(await phases('bitbucket', join(out, 'bitbucket'), yaml, fake, org.change, 10 * 60_000)));
  } finally {
    await fake.close();
  }
}

if (ONLY.includes('sonarqube')) {
  const { startFakeSonarqube } = await load('exporters/sonarqube/simulator/fake-sonarqube.js');
  const org = sonarOrganisation({ projects: PROJECTS, nowMs: START, token: 'bench-token' });
  const fake = await startFakeSonarqube(org.state);
  try {
    log(`sonarqube: ${PROJECTS} projects ...`);
    const yaml = (state) =>
      `version: okr/v1\ncalendar:\n  timezone: UTC\nserver:\n  state_dir: ${state}\nsources:\n  sonarqube:\n    url: ${fake.url}\n    token: \${BENCH_TOKEN}\n${budget}    projects: all\nobjectives: []\n`;
    results.push(...(await phases('sonarqube', join(out, 'sonarqube'), yaml, fake, org.change, 30 * 60_000)));
  } finally {
    await fake.close();
  }
}

const baselineName = opt('baseline');
if (baselineName) {
  const base = JSON.parse(readFileSync(join(here, 'baselines', `${baselineName}.json`), 'utf8'));
  for (const r of results) {
    const same = base.results.find((x) => x.source === r.source && x.phase.split(' ')[0] === r.phase.split(' ')[0]);
    // Baselines before the simulated day measured one hour: its requests per hour compare with
    // the day's average (its seconds were the hour's total, not a refresh's).
    const hour = !same && r.phase.endsWith('per hour') ? base.results.find((x) => x.source === r.source && x.phase.startsWith('hour')) : undefined;
    const b = same ?? hour;
    if (!b) continue;
    const ratio = (k) => (b[k] && !(hour && k === 'seconds') ? Number((r[k] / b[k]).toFixed(2)) : undefined);
    r[`vs_${baselineName}`] = { requests: ratio('requests'), seconds: ratio('seconds'), peak_rss_mb: ratio('peak_rss_mb'), metrics_kb: ratio('metrics_kb') };
  }
}
const saveAs = opt('save-baseline');
if (saveAs) {
  mkdirSync(join(here, 'baselines'), { recursive: true });
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  writeFileSync(
    join(here, 'baselines', `${saveAs}.json`),
    `${JSON.stringify({ name: saveAs, commit, sizes: { boards: BOARDS, repos: REPOS, projects: PROJECTS }, results }, null, 2)}\n`,
  );
}
console.table(
  results.map(({ source, phase, requests, held_back, seconds, peak_rss_mb, metrics_kb, series, up }) => ({
    source,
    phase,
    requests,
    held_back,
    seconds,
    peak_rss_mb,
    metrics_kb,
    series,
    up,
  })),
);
console.log(JSON.stringify(results, null, 2));
