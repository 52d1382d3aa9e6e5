#!/usr/bin/env node
/**
 * okr-metrics: one command, thin subcommands. Each parses its arguments and calls a
 * function; errors end here, with a path-like message and a meaningful exit code.
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, UsageError } from '../config/config-error.js';
import { DURATION_RE } from '../core/duration.js';
import { urlHasCredentials } from '../core/config-primitives.js';
import { DEFAULTS, EXPORTER_JOB } from '../conventions.js';
import { REPORT_FORMATS, type ReportFormat } from '../report/render-report.js';
import type { FormatName } from '../../exporters/apilogs/log-presets.js';
import { EXIT } from './exit-codes.js';
import { SOURCES } from '../../exporters/index.js';
import { VERSION } from '../version.js';
import { systemClock } from '../core/clock.js';
// Types only: the commands' modules are imported when they run, keeping start-up small.
import type { BackfillCliOptions } from '../backfill/backfill-command.js';
import type { DemoCliOptions } from '../demo/demo-command.js';

// Commands load their modules when they run: start-up stays short for every command, and
// `okr-metrics logs` (benchmarked against mtail end to end) skips the service's dependencies.

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

/** A URL argument: credentials in it would show in logs and reports (the file's auth settings carry them). */
function urlArg(value: string): string {
  if (urlHasCredentials(value))
    throw new InvalidArgumentError('must not carry credentials (user:password@); set prometheus.basic_auth or bearer_token in the OKR file');
  return value;
}

function duration(value: string): string {
  const text = value === '0' ? '0s' : value;
  if (!DURATION_RE.test(text)) throw new InvalidArgumentError('must be a duration such as 30s, 10m, 2h, or 0');
  return text;
}

const program = new Command()
  .name('okr-metrics')
  .description('Engineering OKRs as code, measured by Prometheus, shown in Grafana.')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  // Bad arguments exit 2 like every other bad input (commander's own default is 1); help and version 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage));

program
  .command('check')
  .description('validate the OKR file and exit: 0 when valid, 2 with one line per problem')
  .option('-c, --config <file>', 'OKR file', DEFAULTS.configFile)
  .action(async (opts: { config: string }) => {
    const { runCheck } = await import('../config/check-command.js');
    const r = runCheck(opts.config);
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(`${opts.config}: ok (${r.objectives} objectives, ${r.keyResults} key results; sources: ${r.sources.join(', ') || 'none'})\n`);
  });

program
  .command('schema')
  .description('print the JSON Schema of the OKR file (for editors)')
  .action(async () => {
    const { okrJsonSchema } = await import('../config/schema-command.js');
    process.stdout.write(`${JSON.stringify(okrJsonSchema(), null, 2)}\n`);
  });

program
  .command('generate')
  .description('write Prometheus rules, Grafana dashboards and provisioning from the OKR file (--check: compare instead, exit 1 on drift)')
  .option('-c, --config <file>', 'OKR file', DEFAULTS.configFile)
  .option('-o, --out <dir>', 'output directory (dashboards/ and provisioning/ go under it)', '.')
  .option('--check', 'write nothing; name each file that differs from the generated one and exit 1')
  .action(async (opts: { config: string; out: string; check?: boolean }) => {
    const { runGenerate } = await import('../generate/generate-command.js');
    const r = runGenerate(opts);
    if (r.differences === undefined) {
      process.stdout.write(`generated ${r.files.length} files under ${opts.out}\n`);
    } else if (r.differences.length === 0) {
      process.stdout.write(`${r.files.length} generated files are up to date\n`);
    } else {
      for (const d of r.differences) process.stderr.write(`${d.path}: ${d.problem === 'missing' ? 'missing' : 'differs from the generated file'}\n`);
      process.stderr.write(`run: okr-metrics generate -c ${opts.config} --out ${opts.out}\n`);
      process.exitCode = EXIT.failure;
    }
  });

function collectRepeated(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

program
  .command('logs')
  .description('one-shot: read access logs to the end and print the apilogs metrics (Prometheus text) on stdout')
  .argument('<file...>', 'access log files (- for standard input)')
  .option(
    '--format <format>',
    'combined_rt (default: combined plus $request_time), combined, apache_common, apache_combined, json, nginx (with --log-format) or regex',
  )
  .option('--log-format <string>', 'nginx log_format (implies --format nginx)')
  .option('--regex <regex>', 'regular expression with named groups status, path, method, duration (--format regex)')
  .option('--duration-unit <unit>', 'unit of logged durations: s, ms, us or ns (us for Apache %D)')
  .option('--service <name>', 'service label', 'api')
  .option('--route <template>', 'route template such as /v1/topups/:id (repeatable)', collectRepeated)
  .option('--max-routes <n>', 'distinct routes kept before folding into route="other"', (v: string) => Number(v))
  .option('--threads <n>', 'counting threads (default 1; more help on large inputs when cores are idle)', (v: string) => Number(v))
  .option('--stats', 'print lines, bytes and lines/s of the counting itself on stderr')
  .action(
    async (
      files: string[],
      opts: {
        format?: FormatName;
        logFormat?: string;
        regex?: string;
        durationUnit?: 's' | 'ms' | 'us' | 'ns';
        service: string;
        route?: string[];
        maxRoutes?: number;
        threads?: number;
        stats?: boolean;
      },
    ) => {
      // Loaded on demand: the one-shot path needs none of the service's modules.
      const { runLogs, LogsUsageError } = await import('../logs/logs-command.js');
      let r;
      try {
        // Format warnings at once: on a large file the counting goes on for a while.
        r = await runLogs(files, { ...opts, routes: opts.route, onFormatWarning: (w) => process.stderr.write(`okr-metrics logs: ${w}\n`) });
      } catch (e) {
        if (!(e instanceof LogsUsageError)) throw e;
        process.stderr.write(`okr-metrics logs: ${e.message}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      process.stdout.write(r.exposition);
      for (const f of r.failed) process.stderr.write(`okr-metrics logs: ${f.file}: ${f.error} (skipped)\n`);
      if (opts.stats) {
        const rate = r.countSeconds > 0 ? Math.round(r.lines / r.countSeconds) : 0;
        process.stderr.write(`lines=${r.lines} requests=${r.requests} bytes=${r.bytes} count_seconds=${r.countSeconds.toFixed(3)} lines_per_second=${rate}\n`);
      }
      if (r.failed.length > 0) process.exitCode = EXIT.failure;
    },
  );

program
  .command('serve')
  .description('collect from every enabled source, evaluate key results, and serve /metrics, /report, /healthz and /readyz')
  .option('-c, --config <file>', 'OKR file', DEFAULTS.configFile)
  .option('--host <host>', `listen address (default: server.host or ${DEFAULTS.host})`)
  .option('-p, --port <port>', `listen port (default: server.port or ${DEFAULTS.port})`, port)
  .option('--web.config.file <file>', 'TLS and basic auth, in the Prometheus exporter-toolkit web config format (default: server.web_config_file)')
  .option('--standby', 'when another process holds the state directory, wait and take over when it stops or dies (default: server.standby)')
  .action(async (opts: { config: string; host?: string; port?: number; 'web.config.file'?: string; standby?: boolean }) => {
    const [{ loadConfig }, { createLogger }, { startService }] = await Promise.all([
      import('../config/load-config.js'),
      import('../core/logger.js'),
      import('../serve/service.js'),
    ]);
    const loaded = loadConfig(opts.config);
    const logger = createLogger();
    // Signals are handled from the start: a stop during start-up waits for it, then stops
    // cleanly (checkpoints saved, the state directory's lock released).
    // A lost lock (this process was frozen and a standby took over): exit at once, as a crash
    // would; the orchestrator restarts it, as a standby when so configured.
    const lockLost = () => {
      logger.flush?.();
      process.exit(EXIT.failure);
    };
    const starting = startService(loaded, {
      host: opts.host,
      port: opts.port,
      logger,
      clock: systemClock,
      webConfigFile: opts['web.config.file'],
      standby: opts.standby,
      onLockLost: lockLost,
    });
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      const service = await starting.catch(() => undefined);
      await service?.stop();
      logger.flush?.();
      process.exit(EXIT.ok);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
    const service = await starting;
    // A standby that cannot take over (a damaged ledger, say) stops with the reason logged.
    service.activated.catch(lockLost);
  });

program
  .command('demo')
  .description('run everything on this machine with simulated sources: exporter, KR engine, and Prometheus + Alertmanager when installed')
  .option('--dir <dir>', 'working directory: demo OKR file, logs, state, generated rules (its demo subfolders are recreated)', '.okr-demo')
  .option('--host <host>', 'exporter listen address (0.0.0.0 to reach it from other machines or containers)', '127.0.0.1')
  .option('-p, --port <port>', 'exporter port (taken: any free port)', port, DEFAULTS.port)
  .option('--no-prometheus', 'do not start Prometheus and Alertmanager even when installed')
  .option('--prometheus-url <url>', 'use this Prometheus (e.g. the docker compose one) instead of starting one', urlArg)
  .option('--prometheus-data-dir <dir>', "with --prometheus-url: that Prometheus' --storage.tsdb.path, to load the history into")
  .option('--no-history', 'skip rebuilding the previous quarter into Prometheus')
  .option('--incident-every <duration>', 'mean time between random incidents in the access log (0 = none)', duration, '30m')
  .action(async (opts: DemoCliOptions) => {
    const [{ createLogger }, { runDemoCommand }] = await Promise.all([import('../core/logger.js'), import('../demo/demo-command.js')]);
    // The demo talks to the person at the terminal on stdout; service logs (warnings up) go to stderr.
    const logger = createLogger({ level: process.env.OKR_METRICS_LOG_LEVEL ?? 'warn' });
    const say = (line: string) => process.stdout.write(`${line}\n`);
    const demo = await runDemoCommand(opts, logger, say, systemClock);
    let stopping = false;
    const shutdown = async () => {
      if (stopping) return;
      stopping = true;
      say('stopping the demo...');
      await demo.stop();
      process.exit(EXIT.ok);
    };
    process.on('SIGTERM', () => void shutdown());
    process.on('SIGINT', () => void shutdown());
  });

program
  .command('report')
  .description('write the review of a period (default: the current quarter): status, progress, baseline -> value -> target, PromQL')
  .option('-c, --config <file>', 'OKR file', DEFAULTS.configFile)
  .option('--period <name>', 'period to review, e.g. 2026-Q3, 2026-07, 2026 (FY2026-Q1 with a fiscal calendar)')
  .option(
    '--format <format>',
    `output format: ${REPORT_FORMATS.join(', ')}`,
    (v: string) => {
      if (!(REPORT_FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${REPORT_FORMATS.join(', ')}`);
      return v;
    },
    'md',
  )
  .option('--prometheus <url>', 'Prometheus base URL (default: prometheus.url of the file)', urlArg)
  .action(async (opts: { config: string; period?: string; format: ReportFormat; prometheus?: string }) => {
    const [{ loadConfig }, { runReport }] = await Promise.all([import('../config/load-config.js'), import('../report/report-command.js')]);
    const loaded = loadConfig(opts.config);
    const r = await runReport(loaded, { period: opts.period, format: opts.format, prometheus: opts.prometheus, clock: systemClock });
    process.stdout.write(r.text);
    if (r.ledgerLost) process.stderr.write(`okr-metrics report: ${r.ledgerLost}\n`);
    if (r.prometheusDown) {
      // The review still lists every KR (manual ones with values); the measured ones could not be.
      process.stderr.write(`okr-metrics report: ${r.prometheusDown}; measured key results show no data\n`);
      process.exitCode = EXIT.failure;
    }
  });

program
  .command('backfill')
  .description("rebuild the live series from each source's own history at a fixed step, as OpenMetrics files and (with promtool) TSDB blocks")
  .option('-c, --config <file>', 'OKR file', DEFAULTS.configFile)
  .requiredOption('--from <date>', 'first day, YYYY-MM-DD (calendar time zone) or an ISO date-time')
  .option('--to <date>', 'end (exclusive): YYYY-MM-DD, ISO date-time, or now (= 3 hours ago); default: the last midnight at least 3 hours ago')
  .option('--out <dir>', 'output directory (default: <state_dir>/backfill)')
  .option(
    '--sources <list>',
    `comma-separated: ${SOURCES.filter((p) => p.backfill)
      .map((p) => p.name)
      .join(', ')} (default: every configured, enabled one)`,
  )
  .option('--step <duration>', 'sample interval', '5m')
  .option(
    '--log-files <service=glob>',
    'archived logs of an apilogs service (repeatable; default: its configured paths and their rotated siblings)',
    collectRepeated,
  )
  .option('--no-blocks', 'write OpenMetrics only, even when promtool is on the PATH')
  .option('--prometheus <url>', 'Prometheus to check that the live exporter has no samples in the range (default: prometheus.url of the file)', urlArg)
  .option('--no-live-check', 'do not ask Prometheus where the live samples start')
  .option('--force', 'rebuild sources an earlier run finished (months whose file comes out the same keep their blocks)')
  .option('--load-into <dir>', 'copy the blocks into this Prometheus data directory (--storage.tsdb.path); blocks already there are kept')
  .option('--job <name>', `job label of the exporter's scrape, put on every series (default ${EXPORTER_JOB})`)
  .option('--instance <host:port>', `instance label of the exporter's scrape (default okr-metrics:${DEFAULTS.port}, the generated scrape config's target)`)
  .action(
    // commander's `--prometheus <url>` and `--no-live-check`; the command takes both as `prometheus`.
    async (opts: Omit<BackfillCliOptions, 'prometheus'> & { config: string; prometheus?: string; liveCheck?: boolean }) => {
      const [{ loadConfig }, { createLogger }, { runBackfillCommand, summary }] = await Promise.all([
        import('../config/load-config.js'),
        import('../core/logger.js'),
        import('../backfill/backfill-command.js'),
      ]);
      const loaded = loadConfig(opts.config);
      const r = await runBackfillCommand(
        loaded,
        { ...opts, prometheus: opts.liveCheck === false ? false : opts.prometheus },
        { logger: createLogger({ level: process.env.OKR_METRICS_LOG_LEVEL ?? 'warn' }), clock: systemClock },
      );
      const { redact } = await import('../core/secrets.js');
      // Source errors quote URLs and server messages: scrubbed like every log line.
      process.stdout.write(redact(summary(r)));
      if (r.failed) process.exitCode = EXIT.failure;
    },
  );

const ledgerCommand = program
  .command('ledger')
  .description('the KR ledger (frozen baselines and final figures): export it to a file for git or a backup, import it back');

ledgerCommand
  .command('export')
  .description('write every ledger row as JSON (default) or CSV, on stdout or to --out')
  .option('-c, --config <file>', 'OKR file (its engine.ledger / server.state_dir locate the ledger)', DEFAULTS.configFile)
  .option('--format <format>', 'json or csv (default: from --out, else json)')
  .option('--out <file>', 'write to this file instead of stdout')
  .action(async (opts: { config: string; format?: string; out?: string }) => {
    const [{ loadConfig }, { Ledger }, io, { ledgerPath }, { writeFileSync }] = await Promise.all([
      import('../config/load-config.js'),
      import('../engine/ledger.js'),
      import('../engine/ledger-io.js'),
      import('../config/state-paths.js'),
      import('node:fs'),
    ]);
    const format = ledgerFormat(opts.format ?? (opts.out ? io.formatOf(opts.out) : undefined) ?? 'json', io.LEDGER_FORMATS);
    const loaded = loadConfig(opts.config);
    const file = ledgerPath(loaded);
    const { existsSync } = await import('node:fs');
    // Exporting must not create an empty ledger where none is.
    if (!existsSync(file)) throw new Error(`no ledger at ${file} (engine.ledger, default <state_dir>/ledger.sqlite)`);
    const ledger = new Ledger(file);
    try {
      const text = io.exportLedger(ledger, format);
      if (opts.out) writeFileSync(opts.out, text);
      else process.stdout.write(text);
      if (opts.out) process.stderr.write(`${ledger.rows().length} rows written to ${opts.out}\n`);
    } finally {
      ledger.close();
    }
  });

ledgerCommand
  .command('import')
  .description('load an export into the ledger: new rows are added, open ones updated; a closed (frozen) row with other figures is refused unless --overwrite')
  .argument('<file>', 'a file written by ledger export (JSON or CSV)')
  .option('-c, --config <file>', 'OKR file (its engine.ledger / server.state_dir locate the ledger)', DEFAULTS.configFile)
  .option('--format <format>', 'json or csv (default: from the file name, else json)')
  .option('--overwrite', 'replace closed rows whose figures differ (each is listed)')
  .option('--dry-run', 'validate and say what would change; write nothing')
  .action(async (file: string, opts: { config: string; format?: string; overwrite?: boolean; dryRun?: boolean }) => {
    const [{ loadConfig }, { Ledger }, io, { ledgerPath, stateDir }, { readFileSync }, { updateLedgerMarker }] = await Promise.all([
      import('../config/load-config.js'),
      import('../engine/ledger.js'),
      import('../engine/ledger-io.js'),
      import('../config/state-paths.js'),
      import('node:fs'),
      import('../engine/ledger-marker.js'),
    ]);
    const format = ledgerFormat(opts.format ?? io.formatOf(file) ?? 'json', io.LEDGER_FORMATS);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
    }
    const rows = io.parseLedgerExport(text, format, file);
    const loaded = loadConfig(opts.config);
    const ledger = new Ledger(ledgerPath(loaded));
    try {
      const dry = opts.dryRun === true;
      const r = io.importLedger(ledger, rows, opts.overwrite === true, dry);
      for (const c of r.conflicts) {
        const diff = c.fields.map((f) => `${f.field} ${JSON.stringify(f.ledger)} -> ${JSON.stringify(f.file)}`).join(', ');
        process.stderr.write(
          `${r.written ? 'overwrote' : dry && opts.overwrite ? 'would overwrite' : 'refused'} frozen row ${c.keyResult} ${c.period}: ${diff}\n`,
        );
      }
      const would = r.written ? '' : 'would have ';
      process.stdout.write(
        `${r.written ? 'imported' : dry ? 'dry run, nothing written' : 'nothing written'}: ${would}added ${r.added}, ${would}updated ${r.updated} open rows, ${r.unchanged} unchanged, ${r.conflicts.length} frozen rows with other figures${r.conflicts.length > 0 && !r.written && !opts.overwrite ? ' (refused; --overwrite replaces them)' : ''}\n`,
      );
      if (r.written) updateLedgerMarker(stateDir(loaded), ledger);
      if (r.conflicts.length > 0 && !r.written && !opts.overwrite) process.exitCode = EXIT.failure;
    } finally {
      ledger.close();
    }
  });

function ledgerFormat(value: string, formats: readonly string[]): 'json' | 'csv' {
  if (!formats.includes(value)) throw new UsageError(`--format must be one of ${formats.join(', ')}`);
  return value as 'json' | 'csv';
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`okr-metrics: ${e.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    const { redact } = await import('../core/secrets.js');
    process.stderr.write(`okr-metrics: ${redact(e instanceof Error ? e.message : String(e))}\n`);
    process.exitCode = EXIT.failure;
  }
}

void main(process.argv);
