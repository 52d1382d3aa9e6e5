/**
 * A year of a 10-board Jira for the benchmark, served by the test fake (compiled into
 * bench/out/backfill-dist): two-week sprints on every board, velocity chart for all of them,
 * two JQL queries with ~300 issues per quarter. Deterministic.
 */
export const JQL = 'project = BENCH AND created >= "{{period_start}}" AND created < "{{period_end}}"';

export function yearOfJira({ fakeJiraData }, { boards = 10, from, to }) {
  const SP = 'customfield_10016';
  const sprints = [];
  const boardList = [];
  let id = 1000;
  for (let b = 1; b <= boards; b++) {
    const ids = [];
    const velocity = {};
    // Boards start their sprints on different days.
    for (let start = from - 14 * 86400_000 + b * 86400_000; start < to; start += 14 * 86400_000) {
      id++;
      const complete = start + 14 * 86400_000 - 3600_000;
      const closed = complete < to;
      sprints.push({
        id,
        name: `B${b} Sprint ${id}`,
        state: closed ? 'closed' : 'active',
        startDate: new Date(start).toISOString(),
        endDate: new Date(start + 14 * 86400_000).toISOString(),
        ...(closed ? { completeDate: new Date(complete).toISOString() } : {}),
        originBoardId: b,
      });
      ids.push(id);
      if (closed) velocity[id] = { estimated: 30 + ((id * 7) % 20), completed: 25 + ((id * 11) % 20) };
    }
    boardList.push({ id: b, name: `Board ${b}`, type: 'scrum', estimationField: SP, sprintIds: ids, velocity, sprintReports: 'unavailable' });
  }
  // One issue a day; the query's filled JQL for each quarter maps to that quarter's issues.
  const issues = [];
  const queries = {};
  for (let t = from, n = 0; t < to; t += 86400_000, n++) {
    const d = new Date(t);
    const key = `BENCH-${n + 1}`;
    issues.push({ id: String(50000 + n), key, fields: { created: d.toISOString(), [SP]: 1 + (n % 5) }, sprints: [] });
    const q = Math.floor(d.getUTCMonth() / 3) * 3;
    const start = `${d.getUTCFullYear()}-${String(q + 1).padStart(2, '0')}-01`;
    const endD = new Date(Date.UTC(d.getUTCFullYear(), q + 3, 1));
    const end = `${endD.getUTCFullYear()}-${String(endD.getUTCMonth() + 1).padStart(2, '0')}-01`;
    const jql = JQL.replace('{{period_start}}', start).replace('{{period_end}}', end);
    (queries[jql] ??= []).push(key);
  }
  // Quarters the range touches without issues still answer.
  for (let y = new Date(from).getUTCFullYear(); y <= new Date(to).getUTCFullYear(); y++)
    for (let q = 0; q < 12; q += 3) {
      const endD = new Date(Date.UTC(y, q + 3, 1));
      const jql = JQL.replace('{{period_start}}', `${y}-${String(q + 1).padStart(2, '0')}-01`).replace(
        '{{period_end}}',
        `${endD.getUTCFullYear()}-${String(endD.getUTCMonth() + 1).padStart(2, '0')}-01`,
      );
      queries[jql] ??= [];
    }
  return fakeJiraData({
    credentials: { email: 'bench@example.com', token: 'bench-token' },
    fields: [
      {
        id: SP,
        name: 'Story point estimate',
        custom: true,
        schema: { type: 'number', custom: 'com.pyxis.greenhopper.jira:jsw-story-points', customId: 10016 },
      },
    ],
    boards: boardList,
    sprints,
    issues,
    queries,
    velocityWindow: 100,
  });
}
