/**
 * Per-source progress on stderr. On a terminal, one line per source redrawn in place (requests
 * made, lines read, done fraction, time left); otherwise a plain line per source every few
 * seconds, so CI logs and redirected output stay readable. Never on stdout: that is for the
 * result and the loading instructions.
 */
import type { SourceProgress } from '../core/source.js';

interface State {
  source: string;
  startedAt: number;
  requests: number;
  lines: number;
  total: number;
  done: number;
  status?: string;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean };
  /** Plain mode: seconds between progress lines. */
  intervalMs?: number;
  now?: () => number;
}

export class BackfillProgress {
  private readonly states: State[] = [];
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private drawn = 0;

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.now = opts.now ?? (() => performance.now());
    const interval = opts.intervalMs ?? (this.tty ? 200 : 5000);
    this.timer = setInterval(() => this.render(), interval);
    this.timer.unref();
  }

  source(name: string): SourceProgress {
    const st: State = { source: name, startedAt: this.now(), requests: 0, lines: 0, total: 0, done: 0 };
    this.states.push(st);
    return {
      request: () => void st.requests++,
      lines: (n) => void (st.lines += n),
      setTotal: (u) => void (st.total = u),
      advance: (u) => void (st.done += u),
      finish: (status) => {
        st.status = status;
        if (!this.tty) this.stream.write(`${this.describe(st)}\n`);
      },
    };
  }

  /** Final redraw and stop. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.render();
  }

  describe(st: State): string {
    const parts = [`${st.source.padEnd(9)}`];
    const f = st.total > 0 ? Math.min(1, st.done / st.total) : 0;
    if (this.tty && !st.status) parts.push(bar(f));
    parts.push(`${(f * 100).toFixed(0).padStart(3)}%`);
    parts.push(`${st.requests} requests`);
    if (st.lines > 0) parts.push(`${st.lines.toLocaleString('en-US')} lines`);
    if (st.status) parts.push(st.status);
    else {
      const elapsed = this.now() - st.startedAt;
      parts.push(f > 0.01 ? `ETA ${formatDuration((elapsed * (1 - f)) / f)}` : 'ETA --');
    }
    return parts.join('  ');
  }

  private render(): void {
    if (this.states.length === 0) return;
    if (this.tty) {
      let out = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
      for (const st of this.states) out += `\r\x1b[2K${this.describe(st)}\n`;
      this.drawn = this.states.length;
      this.stream.write(out);
    } else {
      for (const st of this.states) if (!st.status) this.stream.write(`${this.describe(st)}\n`);
    }
  }
}

function bar(f: number, width = 20): string {
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
