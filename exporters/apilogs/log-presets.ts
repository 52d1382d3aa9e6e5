/**
 * Named log formats, so the common cases need no `log_format` copied from a server's
 * configuration, and the one place that turns a service's `format` / `log_format` settings
 * into the parser kind and format string the rest of the code reads.
 */
import { compileNginxFormat, DEFAULT_NGINX_LOG_FORMAT, durationVariable } from './nginx-format.js';

const COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';
// Apache's %l (identd logname) is almost always "-", but it is a field, not a literal.
const APACHE_COMMON = '$remote_addr $remote_logname $remote_user [$time_local] "$request" $status $body_bytes_sent';

/** Preset name → the nginx log_format it stands for, or the JSON lines reader. */
export const LOG_PRESETS = {
  /** nginx's `combined` plus `$request_time`: the default. */
  combined_rt: { kind: 'nginx', logFormat: DEFAULT_NGINX_LOG_FORMAT, description: "nginx's combined plus $request_time (the default)" },
  /** nginx's built-in `combined`: no duration, so no latency. */
  combined: { kind: 'nginx', logFormat: COMBINED, description: "nginx's built-in combined (no duration)" },
  /** Apache `LogFormat "%h %l %u %t \"%r\" %>s %b" common`. */
  apache_common: { kind: 'nginx', logFormat: APACHE_COMMON, description: "Apache's common (no duration)" },
  /** Apache `LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"" combined`. */
  apache_combined: { kind: 'nginx', logFormat: `${APACHE_COMMON} "$http_referer" "$http_user_agent"`, description: "Apache's combined (no duration)" },
  /** JSON lines with the default field names (`json_fields` maps others). */
  json: { kind: 'json', logFormat: undefined, description: 'JSON lines' },
} as const;

export type PresetName = keyof typeof LOG_PRESETS;
export const PRESET_NAMES = Object.keys(LOG_PRESETS) as [PresetName, ...PresetName[]];
/** Every value `format` takes: a preset, `nginx` (with `log_format`) or `regex`. */
export const FORMAT_NAMES = [...PRESET_NAMES, 'nginx', 'regex'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];
export type ParserKind = 'nginx' | 'json' | 'regex';

export interface ResolvedFormat {
  format: ParserKind;
  log_format: string;
}

/**
 * The parser kind and log_format of `format` / `log_format` as written (either may be absent):
 * a preset, `nginx` with its log_format, or a log_format alone (the settings written before
 * presets existed: format nginx was the default). Throws a message for the `log_format`
 * setting when a preset and a log_format are both given.
 */
export function resolveFormat(format: FormatName | undefined, logFormat: string | undefined): ResolvedFormat {
  if (format === undefined || format === 'nginx') return { format: 'nginx', log_format: logFormat ?? DEFAULT_NGINX_LOG_FORMAT };
  if (format === 'regex') return { format: 'regex', log_format: logFormat ?? DEFAULT_NGINX_LOG_FORMAT };
  if (logFormat !== undefined) throw new Error(`log_format goes with format nginx; format ${format} is a preset with its own (drop one of them)`);
  const p = LOG_PRESETS[format];
  return { format: p.kind, log_format: p.logFormat ?? DEFAULT_NGINX_LOG_FORMAT };
}

/** The nginx preset whose log_format is exactly this one, to name formats in messages. */
export function presetOf(logFormat: string): PresetName | undefined {
  return PRESET_NAMES.find((n) => LOG_PRESETS[n].logFormat === logFormat);
}

/** Whether lines of this nginx log_format carry a request duration ($request_time or $upstream_response_time). */
export function nginxFormatHasDuration(logFormat: string): boolean {
  try {
    return durationVariable(compileNginxFormat(logFormat).variables) !== undefined;
  } catch {
    return true; // an invalid format is reported as such, not as lacking a duration
  }
}

/**
 * Why a service's lines carry no request duration (so its latency histogram stays empty), or
 * undefined when they do or may (JSON lines are only known when read).
 */
export function missingDurationReason(svc: { format: ParserKind; log_format: string; regex?: string | undefined }): string | undefined {
  if (svc.format === 'nginx' && !nginxFormatHasDuration(svc.log_format)) {
    const preset = presetOf(svc.log_format);
    return `${preset ? `format ${preset}` : 'its log_format'} has neither $request_time nor $upstream_response_time (use format combined_rt, or add $request_time to log_format)`;
  }
  if (svc.format === 'regex' && svc.regex !== undefined && !svc.regex.includes('(?<duration>')) return 'its regex has no (?<duration>...) group';
  return undefined;
}
