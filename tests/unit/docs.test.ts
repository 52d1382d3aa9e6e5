/**
 * The reference pages stay complete and true: every field of the OKR file's JSON Schema is in
 * docs/okr-file.md, every metric and recording rule named in src/conventions.ts is in
 * docs/metrics.md, every alert is in docs/alerts.md and the README with its runbook link, and
 * every message the troubleshooting tables quote still exists in the code, and their links resolve.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERT_NAMES, KR_METRICS, RECORDING_RULES } from '../../src/conventions.js';
import { BITBUCKET_METRICS } from '../../exporters/bitbucket/metrics.js';
import { SONARQUBE_METRICS } from '../../exporters/sonarqube/metrics.js';
import { JIRA_METRICS } from '../../exporters/jira/metrics.js';
import { APILOGS_METRICS } from '../../exporters/apilogs/metrics.js';
import { DELIVERY_METRICS } from '../../exporters/delivery/metrics.js';
import { RUNNER_METRICS } from '../../src/core/runner-metrics.js';

const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Cells of every Markdown table row (header and separator rows included). */
function tableRows(md: string): string[][] {
  return md
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .replace(/^\||\|$/g, '')
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
}

/** The text between `## heading` and the next `## `. */
function section(md: string, heading: string): string {
  const start = md.indexOf(`\n## ${heading}`);
  expect(start, `no "## ${heading}" section`).toBeGreaterThanOrEqual(0);
  const end = md.indexOf('\n## ', start + 1);
  return md.slice(start, end < 0 ? undefined : end);
}

const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

describe('docs/okr-file.md', () => {
  type Node = {
    properties?: Record<string, Node>;
    anyOf?: Node[];
    oneOf?: Node[];
    allOf?: Node[];
    items?: Node;
    additionalProperties?: Node | boolean;
  };

  /** Every field path of the schema: `a.b`, `list[].field`, `map.<name>.field`. */
  function schemaPaths(node: Node, prefix: string, out: Set<string>): Set<string> {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.add(path);
      schemaPaths(child, path, out);
    }
    for (const alt of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) schemaPaths(alt, prefix, out);
    if (node.items) schemaPaths(node.items, `${prefix}[]`, out);
    if (typeof node.additionalProperties === 'object') schemaPaths(node.additionalProperties, `${prefix}.<name>`, out);
    return out;
  }

  const schema = JSON.parse(read('okr-schema.json')) as Node;
  const expected = schemaPaths(schema, '', new Set());
  const documented = new Set(
    tableRows(read('docs/okr-file.md'))
      .map((cells) => /^`([a-z][a-z0-9_<>.[\]]*)`$/.exec(cells[0] ?? '')?.[1])
      .filter((p): p is string => p !== undefined),
  );

  it('documents every field of okr-schema.json', () => {
    expect(expected.size).toBeGreaterThan(150);
    const missing = [...expected].filter((p) => !documented.has(p));
    expect(missing, 'fields of okr-schema.json missing from docs/okr-file.md').toEqual([]);
  });

  it('documents no field the schema does not have', () => {
    const unknown = [...documented].filter((p) => !expected.has(p));
    expect(unknown, 'rows of docs/okr-file.md that are not fields of okr-schema.json').toEqual([]);
  });
});

describe('docs/metrics.md', () => {
  const rule = RECORDING_RULES;
  const names = [
    ...Object.values(RUNNER_METRICS),
    ...Object.values(APILOGS_METRICS),
    ...Object.values(JIRA_METRICS),
    ...Object.values(SONARQUBE_METRICS),
    ...Object.values(BITBUCKET_METRICS),
    ...Object.values(DELIVERY_METRICS),
    ...Object.values(KR_METRICS),
    // Recording rules with their variable parts written as <w> (window) and <q> (quantile).
    ...Object.entries(rule).map(([key, r]) => {
      if (typeof r === 'string') return r;
      if (key === 'apiLatency') return rule.apiLatency('<q>' as 'p50', '<w>');
      if (key === 'apiRouteLatency') return rule.apiRouteLatency('<q>' as 'p50');
      if (key === 'deliveryLeadTime' || key === 'deliveryRecoveryTime') return rule[key]('<q>' as 'p50');
      return (r as (w: string) => string)('<w>');
    }),
  ];
  const documented = tableRows(read('docs/metrics.md')).flatMap((cells) => codeSpans(cells[0] ?? ''));

  it('lists every metric and recording rule of src/conventions.ts in a table', () => {
    expect(names.length).toBeGreaterThan(60);
    expect(names.filter((n) => !documented.includes(n))).toEqual([]);
  });

  it('lists no metric that src/conventions.ts does not name', () => {
    const unknown = documented.filter((d) => /^(okr|api|jira|sonarqube|bitbucket|delivery)[_:]/.test(d) && !names.includes(d));
    expect(unknown).toEqual([]);
  });
});

describe('alert references', () => {
  const runbooks = read('docs/runbooks.md');
  const alertsDoc = tableRows(read('docs/alerts.md'));
  const readmeAlerts = tableRows(section(read('README.md'), 'Alerts'));
  const known = Object.values(ALERT_NAMES) as string[];

  for (const name of known) {
    const anchor = name.toLowerCase();
    it(`${name}: a runbook section, a row in docs/alerts.md and in the README, each linking to it`, () => {
      expect(runbooks).toContain(`\n## ${name}\n`);
      const row = alertsDoc.find((cells) => cells[0] === `\`${name}\``);
      expect(row, `docs/alerts.md has no row for ${name}`).toBeDefined();
      expect(row!.join('|')).toContain(`(runbooks.md#${anchor})`);
      const readmeRow = readmeAlerts.find((cells) => cells[0] === `\`${name}\``);
      expect(readmeRow, `README "## Alerts" has no row for ${name}`).toBeDefined();
      expect(readmeRow!.join('|')).toContain(`(docs/runbooks.md#${anchor})`);
    });
  }

  it('names no alert that is not generated', () => {
    const named = [...alertsDoc, ...readmeAlerts].flatMap((cells) => codeSpans(cells[0] ?? '')).filter((s) => /^Okr[A-Z]/.test(s));
    expect(named.filter((n) => !known.includes(n))).toEqual([]);
  });
});

describe('troubleshooting messages', () => {
  /** Source text a user-visible message can come from: src/ and exporters/, tests and fakes left out. */
  function sourceText(dir: string): string {
    let text = '';
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== 'testing' && entry !== 'testdata') text += sourceText(path);
      } else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts') && !entry.startsWith('fake-') && !entry.includes('fixtures')) {
        text += `${readFileSync(path, 'utf8')}\n`;
      }
    }
    return text;
  }
  // Template literals escape `${` as `\${`; users see it without the backslash.
  const code = (sourceText(join(root, 'src')) + sourceText(join(root, 'exporters'))).replace(/\\\$/g, '$');

  /**
   * The literal parts of a quoted message: `<...>` placeholders and HTTP status codes (filled in
   * at run time) split it, punctuation at the edges of a part is dropped, parts under 4
   * characters are too short to mean anything.
   */
  function literalParts(message: string): string[] {
    return message
      .split(/<[^<>]+>|\b[1-5]\d\d\b/)
      .map((p) => p.replace(/^[\s:;,.()'"]+|[\s:;,.()'"]+$/g, ''))
      .filter((p) => p.length >= 4);
  }

  const quoted = (md: string) => tableRows(md).flatMap((cells) => codeSpans(cells[0] ?? ''));
  const pages = {
    'docs/troubleshooting.md': quoted(read('docs/troubleshooting.md')),
    'README.md "## Troubleshooting"': quoted(section(read('README.md'), 'Troubleshooting')),
  };

  for (const [page, messages] of Object.entries(pages)) {
    it(`every message quoted in ${page} exists in the code`, () => {
      expect(messages.length).toBeGreaterThan(page.startsWith('docs') ? 150 : 8);
      const missing = messages.flatMap((m) =>
        literalParts(m)
          .filter((part) => !code.includes(part))
          .map((part) => `${m}  →  "${part}"`),
      );
      expect(missing).toEqual([]);
    });
  }

  it('checks something: a changed message is caught', () => {
    expect(literalParts('environment variable <VAR> is not set').every((p) => code.includes(p))).toBe(true);
    expect(literalParts('environment variable <VAR> was not set').every((p) => code.includes(p))).toBe(false);
  });
});

describe('links', () => {
  /** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
  const slug = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, '')
      .replace(/ /g, '-');
  const anchors = (file: string) => new Set([...read(file).matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1]!)));

  for (const file of ['README.md', 'docs/okr-file.md', 'docs/metrics.md', 'docs/alerts.md', 'docs/troubleshooting.md']) {
    it(`every relative link of ${file} reaches an existing file and heading`, () => {
      const text = read(file).replace(/```[\s\S]*?```/g, '');
      const broken: string[] = [];
      for (const [, link] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(link!)) continue;
        const [path, anchor] = link!.split('#') as [string, string | undefined];
        const target = path ? join(dirname(file), path) : file;
        if (!existsSync(join(root, target))) broken.push(`${link}: no file ${target}`);
        else if (anchor && target.endsWith('.md') && !anchors(target).has(anchor)) broken.push(`${link}: no heading #${anchor} in ${target}`);
      }
      expect(broken).toEqual([]);
    });
  }
});
