import { z } from 'zod';
import { DEFAULT_LATENCY_BUCKETS } from './metrics.js';
import { Duration, sourceCommon } from '../../src/core/config-primitives.js';
import { DEFAULT_JSON_FIELDS } from './json-line-parser.js';
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

export const ApiService = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'service names are label-safe: letters, digits, ".", "_", "-"'),
    files: z.array(z.string().min(1)).min(1).meta({ description: 'Paths or globs of access logs to follow.' }),
    format: z.enum(['nginx', 'json', 'regex']).default('nginx'),
    log_format: z.string().default(DEFAULT_NGINX_LOG_FORMAT).meta({ description: 'nginx log_format string (format: nginx).' }),
    regex: z.string().optional().meta({ description: 'Regular expression with named groups status, method, path, duration (format: regex).' }),
    duration_unit: z.enum(DURATION_UNITS).default('s').meta({ description: 'Unit of the logged durations: $request_time/$upstream_response_time (format: nginx; s, or us for Apache %D) or the duration group (format: regex).' }),
    json_fields: JsonFields.optional(),
    routes: z.array(z.string().startsWith('/')).default([]).meta({ description: 'Route templates such as /v1/topups/:id or /static/*; they win over the id heuristics, first match wins.' }),
    max_routes: z.number().int().min(1).max(10_000).default(200),
    buckets: z.array(z.number().positive()).min(1).default(DEFAULT_LATENCY_BUCKETS),
    start_at: z.enum(['end', 'beginning']).default('end').meta({ description: 'Where to start in a file seen for the first time.' }),
  })
  .superRefine((s, ctx) => {
    if (s.format === 'nginx') {
      try {
        compileNginxFormat(s.log_format);
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
  });
export type ApiService = z.infer<typeof ApiService>;

export const ApilogsConfig = z.strictObject({
  ...sourceCommon,
  state_file: z.string().optional().meta({ description: 'Checkpoint file (device, inode, offset per file); default under server.state_dir.' }),
  poll_interval: Duration.default('250ms').meta({ description: 'How often followed files are checked for new data.' }),
  services: z.array(ApiService).min(1),
});
export type ApilogsConfig = z.infer<typeof ApilogsConfig>;
