/**
 * A large organisation for the scale benchmark, as the test fakes serve it: 100 Jira boards with a
 * year of two-week sprints, 500 Bitbucket Cloud repositories with 90 days of pull requests and
 * pipelines, 2,000 SonarQube projects with their measures. Shapes follow the fakes (which follow
 * the vendors' recorded answers); sizes follow what a 500-engineer organisation has: most
 * repositories quiet, a tenth busy; sprints of 10–20 issues; projects analysed over the last month.
 * Deterministic (seeded per thing), so two runs serve the same data.
 *
 * Each builder returns the fake's data and `change(nowMs)`, which makes "a little" happen: a few
 * issues done, one sprint closing, a few pull requests merged and pipelines run, a few analyses.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** mulberry32 keyed by a string: the same thing always draws the same numbers. */
function rng(...key) {
  let h = 0x811c9dc5;
  for (const ch of key.join('\u0000')) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 0x01000193);
  }
  let s = h >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), pick: (a) => a[Math.floor(next() * a.length)] };
}

const iso = (ms) => new Date(ms).toISOString();

// ---------------------------------------------------------------- Jira

export const JIRA_QUERIES = {
  bugs_created: 'project in (ORG) AND issuetype = Bug AND created >= "{{period_start}}" AND created < "{{period_end}}"',
  stories_resolved: 'project in (ORG) AND issuetype = Story AND resolved >= "{{period_start}}" AND resolved < "{{period_end}}"',
  incidents: 'project = SEC AND issuetype = Incident AND created >= "{{period_start}}" AND created < "{{period_end}}"',
};

/** `{{period_start}}`/`{{period_end}}` of the quarter holding `nowMs` (the fake matches exact JQL text). */
function quarterJql(jql, nowMs) {
  const d = new Date(nowMs);
  const q = Math.floor(d.getUTCMonth() / 3) * 3;
  const start = `${d.getUTCFullYear()}-${String(q + 1).padStart(2, '0')}-01`;
  const e = new Date(Date.UTC(d.getUTCFullYear(), q + 3, 1));
  const end = `${e.getUTCFullYear()}-${String(e.getUTCMonth() + 1).padStart(2, '0')}-01`;
  return jql.replaceAll('{{period_start}}', start).replaceAll('{{period_end}}', end);
}

export function jiraOrganisation(fakeJiraData, { boards = 100, nowMs }) {
  const SP = 'customfield_10016';
  const sprints = [];
  const boardList = [];
  const issues = [];
  let sprintId = 1000;
  const reportOf = (r, key) => {
    const n = r.int(10, 20);
    const items = Array.from({ length: n }, (_, i) => [`${key}-${i + 1}`, r.pick([1, 2, 3, 5, 8, null]), null]).map(([k, a]) => [k, a, a]);
    const doneShare = r.next() * 0.4 + 0.55;
    const done = items.slice(0, Math.round(n * doneShare));
    const rest = items.slice(done.length);
    const punted = rest.length > 2 ? [rest.pop()] : [];
    const added = done.length > 3 ? [done[done.length - 1][0]] : [];
    return { completed: done, notCompleted: rest, punted, added };
  };
  for (let b = 1; b <= boards; b++) {
    const ids = [];
    const velocity = {};
    const reports = {};
    // 26 closed two-week sprints and the running one; boards start on different days.
    const activeStart = nowMs - ((b % 13) + 1) * DAY;
    for (let n = 26; n >= 0; n--) {
      const start = activeStart - n * 14 * DAY;
      const id = ++sprintId;
      const closed = n > 0;
      const s = {
        id,
        name: `B${b} Sprint ${27 - n}`,
        state: closed ? 'closed' : 'active',
        startDate: iso(start),
        endDate: iso(start + 14 * DAY),
        originBoardId: b,
      };
      if (closed) s.completeDate = iso(start + 14 * DAY - HOUR);
      sprints.push(s);
      ids.push(id);
      const r = rng('jira', b, n);
      const report = reportOf(r, `B${b}S${id}`);
      reports[id] = report;
      const sum = (list, i) => list.reduce((a, x) => a + (x[i] ?? 0), 0);
      if (closed) velocity[id] = { estimated: sum([...report.completed, ...report.notCompleted, ...report.punted], 1), completed: sum(report.completed, 2) };
    }
    boardList.push({
      id: b,
      name: `Team ${String(b).padStart(3, '0')} board`,
      type: 'scrum',
      estimationField: SP,
      sprintIds: ids,
      velocity,
      sprintReports: reports,
    });
  }
  // The JQL queries: this quarter's issues of the whole organisation (about 2,000, 300 and 4).
  const queries = {};
  const sizes = { bugs_created: 300, stories_resolved: 2000, incidents: 4 };
  let issueId = 100_000;
  for (const [name, jql] of Object.entries(JIRA_QUERIES)) {
    const keys = [];
    for (let i = 0; i < sizes[name]; i++) {
      const key = `${name.toUpperCase()}-${i + 1}`;
      issues.push({
        id: String(issueId++),
        key,
        fields: { [SP]: rng('q', name, i).pick([1, 2, 3, 5, 8, null]), created: iso(nowMs - rng('qc', name, i).int(1, 60) * DAY) },
        sprints: [],
      });
      keys.push(key);
    }
    queries[quarterJql(jql, nowMs)] = keys;
  }
  const data = fakeJiraData({
    credentials: { email: 'bench@example.com', token: 'bench-token' },
    fields: [
      { id: 'summary', name: 'Summary', custom: false, schema: { type: 'string' } },
      {
        id: SP,
        name: 'Story point estimate',
        custom: true,
        schema: { type: 'number', custom: 'com.pyxis.greenhopper.jira:jsw-story-points', customId: 10016 },
      },
      { id: 'customfield_10020', name: 'Sprint', custom: true, schema: { type: 'array', custom: 'com.pyxis.greenhopper.jira:gh-sprint', customId: 10020 } },
    ],
    boards: boardList,
    sprints,
    issues,
    queries,
    agilePageCap: 50,
    searchPageCap: 100,
    velocityWindow: 12,
  });
  /** A little: on 10 boards an issue of the running sprint is done; board 1's sprint closes and the next starts. */
  const change = (atMs) => {
    for (let b = 1; b <= 10; b++) {
      const board = data.boards[b - 1];
      const active = board.sprintIds.at(-1);
      const rep = board.sprintReports[active];
      if (rep.notCompleted.length > 0) rep.completed.push(rep.notCompleted.shift());
    }
    const board = data.boards[0];
    const old = data.sprints.find((s) => s.id === board.sprintIds.at(-1));
    old.state = 'closed';
    old.completeDate = iso(atMs);
    const rep = board.sprintReports[old.id];
    board.velocity[old.id] = { estimated: rep.completed.length * 3, completed: rep.completed.length * 2 };
    const id = ++sprintId;
    data.sprints.push({ id, name: `B1 Sprint next`, state: 'active', startDate: iso(atMs), endDate: iso(atMs + 14 * DAY), originBoardId: 1 });
    board.sprintIds.push(id);
    board.sprintReports[id] = reportOf(rng('jira-next', id), `B1S${id}`);
  };
  return { data, change, configBoards: boardList.map((b) => b.id), queries: JIRA_QUERIES };
}

// ---------------------------------------------------------------- Bitbucket Cloud

export function bitbucketOrganisation({ repos = 500, nowMs, authorization }) {
  const list = [];
  for (let i = 1; i <= repos; i++) {
    const r = rng('bb', i);
    const busy = i % 10 === 0;
    const quiet = !busy && r.next() < 0.4;
    const slug = `service-${String(i).padStart(3, '0')}`;
    const pullRequests = [];
    let id = 0;
    // 90 days: a busy repository merges ~1.5 a day, an ordinary one ~2 a week, a quiet one a few.
    const merged = busy ? r.int(100, 160) : quiet ? r.int(0, 4) : r.int(10, 35);
    for (let k = 0; k < merged; k++) {
      const mergedAt = nowMs - r.int(1, 90 * 24) * HOUR;
      pullRequests.push({ id: ++id, state: 'MERGED', createdMs: mergedAt - r.int(1, 96) * HOUR, updatedMs: mergedAt });
    }
    for (let k = 0; k < (quiet ? 0 : r.int(0, busy ? 12 : 4)); k++)
      pullRequests.push({ id: ++id, state: 'OPEN', createdMs: nowMs - r.int(1, 300) * HOUR, updatedMs: nowMs - r.int(1, 48) * HOUR });
    for (let k = 0; k < r.int(0, 3); k++)
      pullRequests.push({ id: ++id, state: 'DECLINED', createdMs: nowMs - r.int(100, 900) * HOUR, updatedMs: nowMs - r.int(50, 99) * HOUR });
    const pipelines = [];
    if (r.next() < 0.7) {
      const n = busy ? r.int(150, 250) : quiet ? r.int(0, 5) : r.int(20, 60);
      const times = Array.from({ length: n }, () => nowMs - r.int(2, 90 * 24 * 60) * 60_000).sort((a, b) => a - b);
      times.forEach((t, k) =>
        pipelines.push({
          buildNumber: k + 1,
          createdMs: t,
          completedMs: t + r.int(60, 1800) * 1000,
          result: r.next() < 0.85 ? 'SUCCESSFUL' : r.pick(['FAILED', 'ERROR', 'STOPPED']),
        }),
      );
    }
    const head = `h${i}c1`;
    const reports = {};
    if (r.next() < 0.6)
      reports[head] = [
        {
          external_id: 'coverage',
          title: 'Coverage',
          report_type: 'COVERAGE',
          data: [{ title: 'Line coverage', type: 'PERCENTAGE', value: r.int(300, 950) / 10 }],
        },
      ];
    const last = Math.max(0, ...pullRequests.map((p) => p.updatedMs), ...pipelines.map((p) => p.createdMs));
    list.push({ slug, project: 'ORG', mainbranch: 'main', pullRequests, pipelines, branches: { main: head }, reports, updatedMs: last || nowMs - 200 * DAY });
  }
  const fixture = { workspace: 'acme', repos: list, authorization };
  /** A little: 5 repositories each merge a pull request, run a pipeline and report coverage on the new head. */
  let round = 0;
  const change = (atMs) => {
    round++;
    for (const i of [3, 77, 150, 310, 444]) {
      const repo = list[i - 1];
      const open = repo.pullRequests.find((p) => p.state === 'OPEN');
      const id = Math.max(0, ...repo.pullRequests.map((p) => p.id)) + 1;
      if (open) Object.assign(open, { state: 'MERGED', updatedMs: atMs - 60_000 });
      else repo.pullRequests.push({ id, state: 'MERGED', createdMs: atMs - 5 * HOUR, updatedMs: atMs - 60_000 });
      const bn = (repo.pipelines.at(-1)?.buildNumber ?? 0) + 1;
      repo.pipelines.push({ buildNumber: bn, createdMs: atMs - 10 * 60_000, completedMs: atMs - 2 * 60_000, result: 'SUCCESSFUL' });
      const head = `h${i}c${round + 1}`;
      repo.branches.main = head;
      repo.reports[head] = [
        { external_id: 'coverage', title: 'Coverage', report_type: 'COVERAGE', data: [{ title: 'Line coverage', type: 'PERCENTAGE', value: 80 + round }] },
      ];
      repo.updatedMs = atMs - 60_000;
    }
  };
  return { fixture, change };
}

// ---------------------------------------------------------------- SonarQube

export function sonarOrganisation({ projects = 2000, nowMs, token }) {
  const sonarDate = (ms) => `${new Date(ms).toISOString().slice(0, 19)}+0000`;
  const measuresOf = (r) => ({
    coverage: (r.int(200, 950) / 10).toFixed(1),
    new_coverage: (r.int(300, 1000) / 10).toFixed(1),
    duplicated_lines_density: (r.int(0, 250) / 10).toFixed(1),
    bugs: String(r.int(0, 40)),
    vulnerabilities: String(r.int(0, 10)),
    code_smells: String(r.int(0, 900)),
    security_hotspots: String(r.int(0, 25)),
    ncloc: String(r.int(800, 250_000)),
    sqale_index: String(r.int(0, 20_000)),
  });
  const list = [];
  for (let i = 1; i <= projects; i++) {
    const r = rng('sonar', i);
    const branches = [
      { name: 'main', isMain: true, analysisDate: sonarDate(nowMs - r.int(1, 30 * 24) * HOUR), measures: measuresOf(r), gate: r.next() < 0.8 ? 'OK' : 'ERROR' },
    ];
    // A tenth of the projects also analyse a couple of feature branches (listed, not measured).
    if (i % 10 === 0)
      for (let k = 1; k <= 2; k++)
        branches.push({ name: `feature/f${k}`, isMain: false, analysisDate: sonarDate(nowMs - r.int(1, 48) * HOUR), measures: measuresOf(r), gate: 'OK' });
    list.push({ key: `org:svc-${String(i).padStart(4, '0')}`, name: `Service ${String(i).padStart(4, '0')}`, branches });
  }
  /** A little: 20 projects are analysed again (new date, new measures, one gate flips). */
  let round = 0;
  const change = (atMs) => {
    round++;
    for (let k = 0; k < 20; k++) {
      const p = list[(k * 97 + round) % list.length];
      const main = p.branches[0];
      main.analysisDate = sonarDate(atMs - (k + 1) * 60_000);
      main.measures = measuresOf(rng('sonar-change', round, k));
      if (k === 0) main.gate = main.gate === 'OK' ? 'ERROR' : 'OK';
    }
  };
  return { state: { token, projects: list }, change };
}
