/**
 * A log in another format than configured is said so at once: `okr-metrics logs` on stderr,
 * `serve` (the tailer) as a warning, with a sample line, the field that failed and the preset
 * that reads the lines.
 */
import { ManualClock } from '../../src/core/clock.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runLogs } from '../../src/logs/logs-command.js';
import { createLogger } from '../../src/core/logger.js';
import { FormatDetector, type FormatWarning, PROBE_LINES } from './format-detection.js';
import { LineSplitter } from './line-splitter.js';
import { LOG_PRESETS } from './log-presets.js';
import { LogTailer } from './log-tailer.js';
import { countFiles } from './one-shot.js';
import { createServiceCounters, type ServiceSettings } from './service-setup.js';
import { requestTable, service } from './testing/apilogs-fixtures.js';
import { DEFAULT_LATENCY_BUCKETS } from './metrics.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'apilogs-detect-'));
/** nginx's built-in `combined`: what a stock nginx writes (no $request_time). */
const combined = (i: number) =>
  `198.51.100.${i % 250} - - [01/Nov/2026:10:00:${String(i % 60).padStart(2, '0')} +0000] "GET /v1/topups/${i} HTTP/1.1" 200 ${i} "-" "curl/8.5.0"`;
const combinedRt = (i: number) => `${combined(i)} 0.0${i % 10}1`;
const file = (lines: string[]) => {
  const f = join(tmp(), 'access.log');
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
};
const settings = (over: Partial<ServiceSettings> = {}): ServiceSettings => ({
  name: 'web',
  format: 'nginx',
  log_format: LOG_PRESETS.combined_rt.logFormat,
  duration_unit: 's',
  routes: [],
  max_routes: 200,
  buckets: DEFAULT_LATENCY_BUCKETS,
  ...over,
});

describe('okr-metrics logs: format detection', () => {
  it('says at once on stderr that a stock nginx combined log does not fit the default, which field failed, and the preset that reads it', async () => {
    const f = file(Array.from({ length: 500 }, (_, i) => combined(i)));
    const r = await runLogs([f]);
    expect(r.lines).toBe(500);
    expect(r.requests).toBe(0); // still counted as malformed, as before
    expect(r.formatWarnings).toEqual([
      `${f}: 100 of the first 100 lines do not fit format combined_rt: after $http_user_agent the format expects "\\" " and $request_time, and the line has no such text; first one: ${combined(0)}; format combined reads 100 of them (it logs no duration: no latency)`,
    ]);
    // The preset reads it.
    const ok = await runLogs([f], { format: 'combined' });
    expect([ok.requests, ok.formatWarnings]).toEqual([500, []]);
  });

  it('names the field whose value is refused, suggests nothing when no preset fits, and keeps quiet when most lines fit', async () => {
    const badStatus = file(Array.from({ length: 20 }, (_, i) => combinedRt(i).replace(' 200 ', ' OK ')));
    expect((await runLogs([badStatus])).formatWarnings).toEqual([
      `${badStatus}: 20 of the first 20 lines do not fit format combined_rt: $status is "OK", not a three-digit status code; first one: ${combinedRt(0).replace(' 200 ', ' OK ')}; no preset reads them`,
    ]);
    // 40 garbage lines among 100 good ones: a minority, no warning.
    const mostlyFine = file(Array.from({ length: 100 }, (_, i) => (i % 5 < 2 ? `garbage ${i}` : combinedRt(i))));
    expect((await runLogs([mostlyFine])).formatWarnings).toEqual([]);
  });

  it("prints the warnings on stderr of the built CLI, also when another thread reads the file's beginning", () => {
    const main = join(import.meta.dirname, '../../dist/src/cli/main.js');
    expect(existsSync(join(import.meta.dirname, '../../dist/exporters/apilogs/format-detection.js')), 'dist/ is missing or stale: npm run build').toBe(true);
    const badStatus = file(Array.from({ length: 20 }, (_, i) => combinedRt(i).replace(' 200 ', ' OK ')));
    const apache = file(
      Array.from({ length: 3000 }, (_, i) => `192.0.2.${i % 200} - frank [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`),
    );
    // The second file's beginning is in the second thread's share.
    const r = spawnSync(process.execPath, [main, 'logs', '--format', 'json', '--threads', '2', apache, badStatus], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^okr-metrics logs: .*: 100 of the first 100 lines do not fit format json: it is not JSON; first one: 192\.0\.2\.0 - frank .*; format apache_common reads 100 of them \(it logs no duration: no latency\)$/,
      ),
      expect.stringMatching(/^okr-metrics logs: .*: 20 of the first 20 lines do not fit format json: it is not JSON; first one: .*; no preset reads them$/),
    ]);
    expect(r.stdout).toContain('api_log_lines_total{service="api",result="malformed"} 3020');
    const ok = spawnSync(process.execPath, [main, 'logs', '--format', 'apache_common', apache], { encoding: 'utf8' });
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    expect(ok.stdout).toContain('api_requests_total{service="api",route="/apache_pb.gif",method="GET",code="200"} 3000');
  });

  it('leaves query strings out of the sample and the problem (they may carry tokens)', () => {
    const line = '198.51.100.1 - - [01/Nov/2026:10:00:00 +0000] "GET /login?access_token=s3cr3t HTTP/1.1" 200 1 "https://x.example/?code=abc" "curl"';
    const r = countFiles([file([line])], service(), new FormatDetector(settings()));
    expect(r.formatWarnings[0]!.sample).toBe('198.51.100.1 - - [01/Nov/2026:10:00:00 +0000] "GET /login?… HTTP/1.1" 200 1 "https://x.example/?…" "curl"');
    expect(JSON.stringify(r.formatWarnings)).not.toContain('s3cr3t');
    const semicolon = settings({ log_format: '"$request" $status;' });
    const r2 = countFiles([file(['"GET / HTTP/1.1" 200; /next?token=s3cr3t'])], createServiceCounters(semicolon), new FormatDetector(semicolon));
    expect(r2.formatWarnings[0]!.problem).toBe('text after $status where the line should end: " /next?…"');
  });

  it('describes lines that are not UTF-8 or over 1 MiB, and text after the last field', () => {
    const warnings: FormatWarning[] = [];
    const counters = service();
    const probe = new FormatDetector(settings()).probe(counters, 'x.log', (w) => warnings.push(w));
    const splitter = new LineSplitter(counters);
    probe.attach(splitter);
    const bytes = Buffer.concat([Buffer.from(`${combinedRt(1)}\n`), Buffer.from([0xff, 0x0a, 0xfe, 0x0a])]);
    const keep = splitter.process(bytes, bytes.length);
    splitter.finish(bytes, keep, bytes.length);
    probe.settle(true);
    expect(warnings).toEqual([
      { file: 'x.log', lines: 3, malformed: 2, sample: '', problem: 'lines longer than 1 MiB or not valid UTF-8', suggestion: undefined },
    ]);
    expect(probe.done).toBe(true);
    // Once decided, the probe steps aside at the next line.
    const more = Buffer.from(`${combinedRt(2)}\n${combinedRt(3)}\n`);
    splitter.process(more, more.length);
    expect([splitter.probe, counters.parsed]).toEqual([undefined, 3]);

    const r = countFiles([file([`${combinedRt(1)} extra`])], service(), new FormatDetector(settings()));
    expect(r.formatWarnings[0]!.problem).toBe('$request_time is "0.011 extra", not a duration in seconds ("0.123" or "-")');
    const semicolon = settings({ log_format: '"$request" $status;' });
    const r2 = countFiles([file(['"GET / HTTP/1.1" 200; extra'])], createServiceCounters(semicolon), new FormatDetector(semicolon));
    expect(r2.formatWarnings[0]!.problem).toBe('text after $status where the line should end: " extra"');
  });
});

describe('serve (tailer): format detection', () => {
  it('logs one warning per file as soon as its first lines are read, and counts on', () => {
    const dir = tmp();
    const log = join(dir, 'access.log');
    writeFileSync(log, '');
    const out: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk, _e, done) => (out.push(String(chunk)), done()) }) });
    const s = settings();
    const counters = createServiceCounters(s);
    const t = new LogTailer({
      services: [{ name: 'web', files: ['access.log'], startAt: 'end', counters, detector: new FormatDetector(s) }],
      baseDir: dir,
      stateFile: join(dir, 'cp.json'),
      pollIntervalMs: 3_600_000,
      logger,
      clock: new ManualClock(Date.parse('2026-11-25T12:00:00Z')),
    });
    try {
      t.poll();
      // Fewer lines than PROBE_LINES while following: ten are enough to decide.
      writeFileSync(log, `${Array.from({ length: 12 }, (_, i) => combined(i)).join('\n')}\n`);
      t.poll();
      const warnings = out.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 40);
      expect(warnings).toEqual([
        expect.objectContaining({
          msg: "most of the first lines of an access log do not fit the service's format",
          service: 'web',
          file: log,
          format: 'combined_rt',
          lines: 12,
          malformed: 12,
          problem: 'after $http_user_agent the format expects "\\" " and $request_time, and the line has no such text',
          sample: combined(0),
          suggestion: 'format combined (no duration: no latency) reads 12 of these lines',
        }),
      ]);
      writeFileSync(log, `${Array.from({ length: 2 * PROBE_LINES }, (_, i) => combined(i)).join('\n')}\n`);
      t.poll();
      expect(out.filter((l) => l.includes('do not fit'))).toHaveLength(1);
      expect([counters.parsed, counters.malformed]).toEqual([0, 2 * PROBE_LINES]);
    } finally {
      t.stop();
    }
    // A file in the right format: no warning, and presets count like their log_format.
    const good = service({ log_format: LOG_PRESETS.combined.logFormat });
    const r = countFiles([file([combined(1), combined(2)])], good, new FormatDetector(settings({ log_format: LOG_PRESETS.combined.logFormat })));
    expect(r.formatWarnings).toEqual([]);
    expect(requestTable(good)).toEqual({ '/v1/topups/:id GET 200': 2 });
  });
});
