/**
 * Streams OpenMetrics text with timestamps, the input of `promtool tsdb create-blocks-from
 * openmetrics`. OpenMetrics wants each family's samples together and each series in time
 * order, so callers hand over one family at a time, series by series.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

export type Point = [timeMs: number, value: number];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class OpenMetricsWriter {
  private readonly out: WriteStream;
  private readonly families = new Set<string>();
  samples = 0;

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
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
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

  async close(): Promise<void> {
    await this.write('# EOF\n');
    this.out.end();
    await once(this.out, 'finish');
  }

  private async write(s: string): Promise<void> {
    if (!this.out.write(s)) await once(this.out, 'drain');
  }
}
