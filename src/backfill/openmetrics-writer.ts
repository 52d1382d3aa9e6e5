/**
 * Streams OpenMetrics text with timestamps, the input of `promtool tsdb create-blocks-from
 * openmetrics`. OpenMetrics wants each family's samples together and each series in time
 * order, so callers hand over one family at a time, series by series.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { labelsText, type SeriesTimeline } from '../core/series-timeline.js';

export type Point = [timeMs: number, value: number];

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class OpenMetricsWriter {
  private readonly out: WriteStream;
  private readonly families = new Set<string>();
  /** SHA-256 of everything written: reruns compare it to prove byte-identical output. */
  private readonly hash = createHash('sha256');
  samples = 0;
  bytes = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
  }

  /**
   * One family: every series with its points. Types are written as `unknown` so sample names
   * are stored exactly as given (`_total`, `_bucket`), as a live scrape stores them.
   */
  async family(name: string, help: string, series: Array<{ labels: Record<string, string>; points: Point[] }>): Promise<void> {
    if (this.families.has(name)) throw new Error(`family ${name} written twice: OpenMetrics needs each family in one block`);
    this.families.add(name);
    await this.write(`# HELP ${name} ${help.replace(/\n/g, ' ')}\n# TYPE ${name} unknown\n`);
    for (const s of series) {
      const labels = labelsText(s.labels);
      const head = labels ? `${name}{${labels}} ` : `${name} `;
      let chunk = '';
      for (const [t, v] of s.points) {
        chunk += `${head}${formatValue(v)} ${(t / 1000).toFixed(3)}\n`;
        if (chunk.length > 1 << 16) {
          await this.write(chunk);
          chunk = '';
        }
      }
      this.samples += s.points.length;
      if (chunk) await this.write(chunk);
    }
  }

  /**
   * Every series of a timeline, one family per sample name (so `_bucket`, `_sum` and `_count`
   * keep their exact names), runs expanded to one sample per grid step. `target` labels (job,
   * instance) go first on every series: what Prometheus attaches to the live exporter's scrape.
   * `window` (grid instants, inclusive) writes only that slice: one file per month keeps
   * promtool's memory (it reads a whole file) and each rerun's work small.
   */
  async timeline(tl: SeriesTimeline, target: Record<string, string> = {}, window?: { fromMs: number; toMs: number }): Promise<void> {
    const prefix = labelsText(target);
    const lo = window?.fromMs ?? -Infinity;
    const hi = window?.toMs ?? Infinity;
    const step = tl.grid.stepMs;
    // Whole-second steps (the normal case) print whole-second timestamps: shorter files.
    const stamp = step % 1000 === 0 ? (t: number) => String(t / 1000) : (t: number) => (t / 1000).toFixed(3);
    let current = '';
    let chunk = '';
    for (const s of tl.sorted()) {
      const all = prefix && s.labels ? `${prefix},${s.labels}` : prefix || s.labels;
      const head = all ? `${s.name}{${all}} ` : `${s.name} `;
      for (let i = 0; i < s.count; i++) {
        const from = Math.max(lo, s.runs[i * 3]!);
        const to = Math.min(hi, s.runs[i * 3 + 1]!);
        if (to < from) continue;
        // A family's header goes out with its first sample in the window: no empty families.
        if (s.name !== current) {
          if (this.families.has(s.name)) throw new Error(`family ${s.name} written twice: OpenMetrics needs each family in one block`);
          this.families.add(s.name);
          current = s.name;
          chunk += `# HELP ${s.name} ${(tl.help.get(s.name) ?? '').replace(/\n/g, ' ')}\n# TYPE ${s.name} unknown\n`;
        }
        const v = `${formatValue(s.runs[i * 3 + 2]!)} `;
        for (let t = from; t <= to; t += step) {
          chunk += head + v + stamp(t) + '\n';
          this.samples++;
          if (chunk.length > 1 << 16) {
            await this.write(chunk);
            chunk = '';
          }
        }
      }
    }
    if (chunk) await this.write(chunk);
  }

  /** Hex SHA-256 of the whole file, valid after close(). */
  digest = '';

  async close(): Promise<void> {
    await this.write('# EOF\n');
    this.digest = this.hash.digest('hex');
    this.out.end();
    await once(this.out, 'finish');
  }

  private async write(s: string): Promise<void> {
    this.hash.update(s);
    this.bytes += Buffer.byteLength(s);
    if (!this.out.write(s)) await once(this.out, 'drain');
  }
}
