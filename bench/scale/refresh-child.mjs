/**
 * One source of the scale benchmark, in its own process so its memory is its own: the source's
 * real collector (built by its plugin from an OKR file), run by the real SourceRunner, its
 * snapshot served through the real exposition (ExpositionRegistry, what /metrics renders).
 * The parent (run.mjs) serves the fake API and says when to refresh:
 *   { cmd: 'refresh', advanceMs }  → moves the simulated clock, runs one collection, answers
 *   { durationS, requests, up, error, rssMb, peakRssMb, metricsBytes, series }
 *
 *   node refresh-child.mjs <dist dir> <okrs.yaml> <source> <start ms>
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [dist, config, source, startMs] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { loadConfig } = await load('src/config/load-config.js');
const { sourceDeps } = await load('src/config/source-deps.js');
const { ManualClock } = await load('src/core/clock.js');
const { silentLogger } = await load('src/core/logger.js');
const { durationSeconds } = await load('src/core/config-primitives.js');
const { SourceRunner } = await load('src/serve/source-runner.js');
const { ExpositionRegistry } = await load('src/serve/exposition.js');
const { SOURCES } = await load('exporters/index.js');

const clock = new ManualClock(Number(startMs));
const loaded = loadConfig(config, { env: process.env });
const plugin = SOURCES.find((p) => p.name === source);
const deps = sourceDeps(loaded, plugin, { stateDir: loaded.config.server.state_dir, clock, logger: silentLogger() });
const interval = durationSeconds(deps.settings.refresh_interval ?? plugin.defaults.interval);
const runner = new SourceRunner(plugin.create(deps), { intervalSeconds: interval, timeoutSeconds: 1800, logger: silentLogger(), clock });
const exposition = new ExpositionRegistry();
exposition.addProvider(() => [...runner.lastGood(), ...runner.healthFamilies()]);

/** Requests sent so far, and requests held back (status "rate_limited": not sent). */
const requestsSoFar = () => {
  const samples = runner.healthFamilies().find((f) => f.name === 'okr_source_requests_total').samples;
  const held = samples.find((s) => s.labels.status === 'rate_limited')?.value ?? 0;
  return { sent: samples.reduce((n, s) => n + s.value, 0) - held, held };
};

process.on('message', async (msg) => {
  if (msg.cmd === 'stop') {
    await runner.stop();
    process.exit(0);
  }
  clock.advance(msg.advanceMs ?? 0);
  const before = requestsSoFar();
  await runner.runOnce();
  const after = requestsSoFar();
  const h = runner.getHealth();
  const text = await exposition.metrics();
  const byStatus = Object.fromEntries(
    runner
      .healthFamilies()
      .find((f) => f.name === 'okr_source_requests_total')
      .samples.map((s) => [s.labels.status, s.value]),
  );
  process.send({
    durationS: h.lastDurationSeconds,
    requests: after.sent - before.sent,
    heldBack: after.held - before.held,
    byStatus,
    up: h.up,
    error: h.lastError?.message,
    rssMb: process.memoryUsage().rss / 2 ** 20,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    metricsBytes: Buffer.byteLength(text),
    series: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
  });
});
process.send({ ready: true });
