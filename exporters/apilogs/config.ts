import { z } from 'zod';
import { DEFAULT_LATENCY_BUCKETS } from './metrics.js';
import { Duration, sourceCommon } from '../../src/core/config-primitives.js';
import { DEFAULT_JSON_FIELDS } from './json-line-parser.js';
import { FORMAT_NAMES, type FormatName, LOG_PRESETS, PRESET_NAMES, type ResolvedFormat, resolveFormat } from './log-presets.js';
import { compileNginxFormat, DEFAULT_NGINX_LOG_FORMAT } from './nginx-format.js';
import { DURATION_UNITS } from './parsed-request.js';
import { regexFormatProblems } from './regex-line-parser.js';

export { DEFAULT_NGINX_LOG_FORMAT };

const JsonFields = z.strictObject({
  status: z.string().default(DEFAULT_JSON_FIELDS.status),
  method: z.string().default(DEFAULT_JSON_FIELDS.method),
  path: z.string().default(DEFAULT_JSON_FIELDS.path),
  duration: z.string().default(DEFAULT_JSON_FIELDS.duration),
  duration_unit: z.enum(DURATION_UNITS).default(DEFAULT_JSON_FIELDS.duration_unit),
  time: z.string().optional(),
});

const ApiServiceFields = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'service names are label-safe: letters, digits, ".", "_", "-"'),
  files: z.array(z.string().min(1)).min(1).meta({ description: 'Paths or globs of access logs to follow.' }),
  format: z
    .enum(FORMAT_NAMES)
    .optional()
    .meta({
      description: `How lines are parsed: a preset (${PRESET_NAMES.map((n) => `${n}: ${LOG_PRESETS[n].description}`).join('; ')}), nginx with your log_format, or regex. Default: combined_rt, or nginx when log_format is given.`,
    }),
  log_format: z.string().optional().meta({ description: 'nginx log_format string (format: nginx, the default when this is given).' }),
  regex: z.string().optional().meta({ description: 'Regular expression with named groups status, method, path, duration (format: regex).' }),
  duration_unit: z.enum(DURATION_UNITS).default('s').meta({
    description:
      'Unit of the logged durations: $request_time/$upstream_response_time (format: nginx; s, or us for Apache %D) or the duration group (format: regex).',
  }),
  json_fields: JsonFields.optional(),
  routes: z
    .array(z.string().startsWith('/'))
    .default([])
    .meta({ description: 'Route templates such as /v1/topups/:id or /static/*; they win over the id heuristics, first match wins.' }),
  max_routes: z.number().int().min(1).max(10_000).default(200),
  buckets: z.array(z.number().positive()).min(1).default(DEFAULT_LATENCY_BUCKETS),
  start_at: z.enum(['end', 'beginning']).default('end').meta({ description: 'Where to start in a file seen for the first time.' }),
});

/** The parser kind and log_format of a service's settings; json and regex ignore a log_format, as they always did. */
function resolved(format: FormatName | undefined, logFormat: string | undefined): ResolvedFormat {
  return format === 'json' || format === 'regex' ? { format, log_format: DEFAULT_NGINX_LOG_FORMAT } : resolveFormat(format, logFormat);
}

function checkService(s: z.output<typeof ApiServiceFields>, ctx: z.RefinementCtx): void {
  let logFormat: ResolvedFormat | undefined;
  try {
    logFormat = resolved(s.format, s.log_format);
  } catch (e) {
    ctx.addIssue({ code: 'custom', path: ['log_format'], message: (e as Error).message });
  }
  if (logFormat?.format === 'nginx') {
    try {
      compileNginxFormat(logFormat.log_format);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['log_format'], message: (e as Error).message });
    }
  }
  if (s.format === 'regex' && !s.regex) ctx.addIssue({ code: 'custom', path: ['regex'], message: 'format regex needs a regex with named groups' });
  if (s.format === 'regex' && s.regex) {
    for (const message of regexFormatProblems(s.regex)) ctx.addIssue({ code: 'custom', path: ['regex'], message });
  }
  for (const [i, r] of s.routes.entries()) {
    if (r.includes('?') || r.includes('#')) ctx.addIssue({ code: 'custom', path: ['routes', i], message: 'route templates are paths without query string' });
  }
  for (let i = 1; i < s.buckets.length; i++) {
    if (s.buckets[i]! <= s.buckets[i - 1]!) {
      ctx.addIssue({ code: 'custom', path: ['buckets', i], message: 'buckets must be strictly increasing' });
      break;
    }
  }
}

export const ApiService = ApiServiceFields.superRefine(checkService)
  // The model keeps the parser kind and the log_format string: presets are resolved here, once.
  .transform(({ format, log_format, ...rest }) => ({ ...rest, ...resolved(format, log_format) }));
export type ApiService = z.infer<typeof ApiService>;

export const ApilogsConfig = z.strictObject({
  ...sourceCommon,
  state_file: z.string().optional().meta({ description: 'Checkpoint file (device, inode, offset per file); default under server.state_dir.' }),
  poll_interval: Duration.default('250ms').meta({ description: 'How often followed files are checked for new data.' }),
  services: z.array(ApiService).min(1),
});
export type ApilogsConfig = z.infer<typeof ApilogsConfig>;
