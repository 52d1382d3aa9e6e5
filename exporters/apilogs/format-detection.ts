/**
 * A log in another format than the one configured is 100% malformed, and counting it
 * quietly would show an empty service. So the first lines of every file (PROBE_LINES) are
 * watched: when most of them do not fit, the warning comes at once, with a sample line, the
 * field where it stopped fitting, and the preset that reads them if there is one.
 */
import { DEFAULT_JSON_FIELDS, JsonLineParser, secondsOf, statusOf } from './json-line-parser.js';
import type { LineSink, LineSplitter } from './line-splitter.js';
import { LOG_PRESETS, nginxFormatHasDuration, type PresetName, PRESET_NAMES, presetOf } from './log-presets.js';
import { type CompiledNginxFormat, compileNginxFormat, NginxLineParser, parseSeconds, parseStatus, parseUpstreamSeconds } from './nginx-format.js';
import { emptyParsedRequest, type LineParser } from './parsed-request.js';
import { RouteTable } from './route-table.js';
import type { ServiceCounters } from './service-counters.js';
import type { ServiceSettings } from './service-setup.js';

/** Lines of a file's beginning that decide whether it fits its format. */
export const PROBE_LINES = 100;
/** While following a file, fewer lines than PROBE_LINES decide once this many have been read. */
export const PROBE_MIN_LINES_FOLLOWING = 10;
/** Characters of the sample line shown. */
const SAMPLE_CHARS = 300;

/**
 * Query strings left out of what is shown: URLs in access logs carry tokens often enough
 * (`?access_token=...`), and the shape of the line is what the message is about.
 */
export function withoutQueries(text: string): string {
  return text.replace(/\?[^\s"]+/g, '?…');
}

export interface FormatWarning {
  file: string;
  /** Lines looked at (the file's first ones) and how many of them did not fit. */
  lines: number;
  malformed: number;
  /** The first line that did not fit, shortened. */
  sample: string;
  /** Where that line stopped fitting the format. */
  problem: string;
  /** A preset that reads most of the lines that did not fit, and how many of them. */
  suggestion?: { format: PresetName; parsed: number; hasDuration: boolean };
}

/** The configured format as one words it in a message. */
export function formatName(s: Pick<ServiceSettings, 'format' | 'log_format'>): string {
  if (s.format !== 'nginx') return s.format;
  const preset = presetOf(s.log_format);
  return preset ? preset : `log_format '${s.log_format}'`;
}

/** One line of text for a FormatWarning (stderr of `okr-metrics logs`). */
export function describeWarning(w: FormatWarning, configured: string): string {
  const suggestion = w.suggestion
    ? `; format ${w.suggestion.format} reads ${w.suggestion.parsed} of them${w.suggestion.hasDuration ? '' : ' (it logs no duration: no latency)'}`
    : '; no preset reads them';
  return `${w.file}: ${w.malformed} of the first ${w.lines} lines do not fit format ${configured}: ${w.problem}; first one: ${w.sample}${suggestion}`;
}

/** Per service: what a probe needs, built once (candidate parsers, the diagnosing parser). */
export class FormatDetector {
  private readonly candidates: Array<{ name: PresetName; parser: LineParser }>;
  private readonly diagnose: (line: Buffer) => string;
  readonly configured: string;

  constructor(settings: ServiceSettings) {
    this.configured = formatName(settings);
    const routes = new RouteTable([], 1);
    const own = settings.format === 'nginx' ? presetOf(settings.log_format) : settings.format;
    this.candidates = PRESET_NAMES.filter((n) => n !== own).map((name) => {
      const p = LOG_PRESETS[name];
      return {
        name,
        parser: p.logFormat === undefined ? new JsonLineParser(DEFAULT_JSON_FIELDS, routes) : new NginxLineParser(compileNginxFormat(p.logFormat), routes),
      };
    });
    this.diagnose =
      settings.format === 'nginx'
        ? nginxProblem.bind(null, compileNginxFormat(settings.log_format))
        : settings.format === 'json'
          ? jsonProblem.bind(null, { ...DEFAULT_JSON_FIELDS, ...(settings.json_fields ?? {}) })
          : () => 'it does not match the regex';
  }

  /** A probe for the beginning of one file; it reports at most once, then steps aside. */
  probe(counters: ServiceCounters, file: string, report: (w: FormatWarning) => void): FormatProbe {
    return new FormatProbe(this, counters, file, report);
  }

  /** @internal */
  tryPresets(buf: Buffer, start: number, end: number, parsed: Int32Array): void {
    const out = emptyParsedRequest();
    for (let i = 0; i < this.candidates.length; i++) if (this.candidates[i]!.parser.parse(buf, start, end, out)) parsed[i]!++;
  }

  /** @internal */
  suggestion(parsed: Int32Array): FormatWarning['suggestion'] {
    let best = -1;
    for (let i = 0; i < this.candidates.length; i++) if (parsed[i]! > 0 && (best < 0 || parsed[i]! > parsed[best]!)) best = i;
    if (best < 0) return undefined;
    const name = this.candidates[best]!.name;
    const logFormat = LOG_PRESETS[name].logFormat;
    return { format: name, parsed: parsed[best]!, hasDuration: logFormat === undefined || nginxFormatHasDuration(logFormat) };
  }

  /** @internal */
  problemOf(line: Buffer | undefined): string {
    return line ? this.diagnose(line) : 'lines longer than 1 MiB or not valid UTF-8';
  }

  get candidateCount(): number {
    return this.candidates.length;
  }
}

/**
 * Sits between a file's line splitter and the service's counters for the file's first lines:
 * every line is counted as usual, and the ones that do not fit are also tried with the presets.
 */
export class FormatProbe implements LineSink {
  private lines = 0;
  private malformed = 0;
  private first: Buffer | undefined;
  private readonly parsed: Int32Array;
  done = false;

  constructor(
    private readonly detector: FormatDetector,
    private readonly counters: ServiceCounters,
    readonly file: string,
    private readonly report: (w: FormatWarning) => void,
  ) {
    this.parsed = new Int32Array(detector.candidateCount);
  }

  /** Put the probe in front of the counters of `splitter` until it has decided. */
  attach(splitter: LineSplitter): this {
    splitter.probe = this;
    return this;
  }

  line(buf: Buffer, start: number, end: number): void {
    if (this.counters.line(buf, start, end)) this.lines++;
    else {
      this.lines++;
      this.malformed++;
      this.first ??= Buffer.from(buf.subarray(start, end));
      this.detector.tryPresets(buf, start, end, this.parsed);
    }
    if (this.lines >= PROBE_LINES) this.decide();
  }

  malformedLine(): void {
    this.counters.malformedLine();
    this.lines++;
    this.malformed++;
    if (this.lines >= PROBE_LINES) this.decide();
  }

  /**
   * The input has no more lines for now: at its end (`final`) whatever was read decides;
   * while following, PROBE_MIN_LINES_FOLLOWING lines are enough.
   */
  settle(final: boolean): void {
    if (!this.done && this.lines >= (final ? 1 : PROBE_MIN_LINES_FOLLOWING)) this.decide();
  }

  private decide(): void {
    if (this.done) return;
    this.done = true;
    if (this.malformed * 2 <= this.lines) return;
    const text = withoutQueries(this.first?.toString('utf8') ?? '');
    this.report({
      file: this.file,
      lines: this.lines,
      malformed: this.malformed,
      sample: text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS)}…` : text,
      problem: withoutQueries(this.detector.problemOf(this.first)),
      suggestion: this.detector.suggestion(this.parsed),
    });
  }
}

const quote = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** Where an nginx-format line stops fitting: the compiled parser records the fields it got through. */
function nginxProblem(format: CompiledNginxFormat, line: Buffer): string {
  const parser = new NginxLineParser(format, new RouteTable([], 1), { recordFields: true });
  if (parser.parse(line, 0, line.length, emptyParsedRequest())) return 'it fits';
  const prefix = Buffer.from(format.prefix);
  if (!line.subarray(0, prefix.length).equals(prefix)) return `it does not start with ${quote(prefix.toString())}`;
  const f = parser.recordedFields!;
  const steps = format.steps;
  let k = 0;
  while (k < steps.length && f[2 * k]! >= 0) k++;
  if (k > 0) {
    // The last field cut out may be the one whose value was refused.
    const step = steps[k - 1]!;
    const [s, e] = [f[2 * k - 2]!, f[2 * k - 1]!];
    const text = line.toString('utf8', s, e);
    const bad =
      step.role === 'status'
        ? parseStatus(line, s, e) === -1 && 'a three-digit status code'
        : step.role === 'request_time'
          ? parseSeconds(line, s, e) === -1 && 'a duration in seconds ("0.123" or "-")'
          : step.role === 'upstream_time'
            ? parseUpstreamSeconds(line, s, e) === -1 && 'a list of durations ("0.010, 0.020 : 0.005")'
            : false;
    if (bad) return `$${step.variable} is ${quote(text)}, not ${bad}`;
    if (k === steps.length) return `text after $${step.variable} where the line should end: ${quote(line.toString('utf8', e + step.terminator.length))}`;
  }
  const step = steps[k]!;
  const literal = Buffer.from(step.terminator).toString();
  const next = steps[k + 1];
  return next
    ? `after $${step.variable} the format expects ${quote(literal)} and $${next.variable}, and the line has no such text`
    : `$${step.variable} is not followed by ${quote(literal)} at the end of the line`;
}

function jsonProblem(fields: typeof DEFAULT_JSON_FIELDS, line: Buffer): string {
  let o: unknown;
  try {
    o = JSON.parse(line.toString('utf8'));
  } catch {
    return 'it is not JSON';
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'it is not a JSON object';
  const get = (path: string) =>
    path.split('.').reduce<unknown>((v, p) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined), o);
  if (statusOf(get(fields.status)) < 0) return `field ${fields.status} is ${JSON.stringify(get(fields.status)) ?? 'missing'}, not a status code`;
  const path = get(fields.path);
  if (typeof path !== 'string' || path === '') return `field ${fields.path} is ${JSON.stringify(path) ?? 'missing'}, not a request path`;
  if (secondsOf(get(fields.duration), 1) === -1) return `field ${fields.duration} is ${JSON.stringify(get(fields.duration))}, not a duration`;
  return 'it fits';
}
