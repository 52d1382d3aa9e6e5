/**
 * Reading an OKR file: YAML with positions → ${VAR} interpolation → zod shape checks →
 * whole-file checks. Every problem is collected and thrown at once as a ConfigError whose
 * lines read `file:line:col: path: message`; nothing is started on a bad file.
 */
import { accessSync, constants } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { OkrFile, okrFileSchema } from './okr-schema.js';
import { SOURCES } from '../../exporters/index.js';
import type { AnySourcePlugin } from '../core/source.js';
import { ENV_INTERPOLATION_RE, ENV_REF_RE, SECRET_KEYS, isSecretSetting } from '../core/config-primitives.js';
import type { Env } from '../core/secrets.js';
import { EVENTS_NEED_AUTH, rawChecks, validateOkrs } from './validate-okrs.js';
import { positionOf } from './yaml-positions.js';
import { parseYamlFile, readConfigText } from './yaml-file.js';
import { loadWebConfig } from './web-config.js';

export interface LoadedConfig {
  /** The validated file; secret fields still hold their ${VAR} references or *_file paths. */
  config: OkrFile;
  /** Path as given (used in messages). */
  file: string;
  /** Directory relative paths in the file are resolved against. */
  baseDir: string;
  env: Env;
  /** The file as written, before interpolation (generate copies it into a Kubernetes ConfigMap). */
  text: string;
  /** The sources the file was read against (exporters/index.ts unless a test adds its own). */
  sources: readonly AnySourcePlugin[];
  /** Problems that leave the file valid, as `file:line:col: path: message` issues. */
  warnings: ConfigIssue[];
}

export interface LoadOptions {
  env?: Env;
  /** Sources to accept under `sources:` (default: exporters/index.ts). */
  sources?: readonly AnySourcePlugin[];
}

export function loadConfig(file: string, opts: LoadOptions = {}): LoadedConfig {
  const text = readConfigText(file, 'file not found (use -c/--config to choose another file)');
  return parseConfig(text, file, opts);
}

export function parseConfig(text: string, file: string, opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const baseDir = dirname(resolve(file));
  const { doc, lc, data } = parseYamlFile(text, file);

  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const at = (path: Array<string | number>, message: string, atKey = false) => {
    const { line, col } = positionOf(doc, lc, path, atKey);
    issues.push({ file, line, col, path, message });
  };

  const raw = interpolate(data ?? {}, [], env, baseDir, at);

  for (const i of rawChecks(raw)) at(i.path, i.message, i.atKey);
  const sources = opts.sources ?? SOURCES;
  // A custom list parses to the same shape; the static type only knows the built-in sources.
  const schema = (opts.sources ? okrFileSchema(opts.sources) : OkrFile) as typeof OkrFile;
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) addZodIssue(issue, at);
  } else if (issues.length === 0) {
    for (const i of validateOkrs(parsed.data, sources)) {
      if (!i.warning) at(i.path, i.message, i.atKey);
      else warnings.push({ file, ...positionOf(doc, lc, i.path, i.atKey ?? false), path: i.path, message: i.message });
    }
    const web = parsed.data.server.web_config_file;
    if (web !== undefined) {
      // The web config file is checked with the OKR file: `check` catches a bad certificate path.
      try {
        const wc = loadWebConfig(web, baseDir);
        if (wc.basicAuthUsers && parsed.data.server.auth) at(['server', 'auth'], `give either server.auth or basic_auth_users in ${web}, not both`);
        const delivery = parsed.data.sources.delivery;
        if (!wc.basicAuthUsers && !parsed.data.server.auth && delivery && delivery.enabled !== false && delivery.deployments_from.includes('events'))
          at(['sources', 'delivery', 'deployments_from'], EVENTS_NEED_AUTH);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        issues.push(...e.issues);
      }
    }
  }
  if (issues.length > 0) {
    issues.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ConfigError(issues);
  }
  return { config: parsed.data!, file, baseDir, env, text, sources, warnings };
}

type At = (path: Array<string | number>, message: string, atKey?: boolean) => void;

function addZodIssue(issue: z.core.$ZodIssue, at: At): void {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) at([...path, key], `unknown key "${key}"${suggest(key)}`, true);
      return;
    case 'invalid_type':
      if (issue.input === undefined) {
        at(path, `required: expected ${issue.expected}`);
        return;
      }
      at(path, `expected ${issue.expected}, got ${describe(issue.input)}`);
      return;
    case 'invalid_union': {
      // Report the branch that got furthest instead of zod's generic "invalid input".
      const deepest = issue.errors.flat().sort((a, b) => b.path.length - a.path.length)[0];
      if (deepest && deepest.code !== 'invalid_type') {
        addZodIssue({ ...deepest, path: [...issue.path, ...deepest.path] }, at);
        return;
      }
      at(path, issue.message === 'Invalid input' ? 'value does not match any accepted form' : issue.message);
      return;
    }
    default:
      at(path, issue.message);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const COMMON_TYPOS: Record<string, string> = {
  keyresults: 'key_results',
  key_result: 'key_results',
  objective: 'objectives',
  source: 'sources',
  refresh: 'refresh_interval',
  interval: 'refresh_interval',
};
function suggest(key: string): string {
  const s = COMMON_TYPOS[key.toLowerCase().replace(/-/g, '_')];
  return s ? ` (did you mean "${s}"?)` : '';
}

/**
 * Fill `${VAR}` / `${VAR:-default}` in plain strings, and check (without reading them into
 * the config) that secret references point at set variables and readable files.
 */
function interpolate(value: unknown, path: Array<string | number>, env: Env, baseDir: string, at: At, disabled = false): unknown {
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, [...path, i], env, baseDir, at, disabled));
  if (value !== null && typeof value === 'object') {
    // A source switched off with `enabled: false` may reference variables that are not set.
    if ((value as Record<string, unknown>).enabled === false) disabled = true;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = [...path, k];
      if (isSecretSetting(path.at(-1), k) && typeof v === 'string') {
        const m = ENV_REF_RE.exec(v);
        if (m && env[m[1]!] === undefined && !disabled) at(p, `environment variable ${m[1]} is not set`);
        out[k] = v; // shape (reference, not literal) is checked by the schema
      } else if (k.endsWith('_file') && (SECRET_KEYS as readonly string[]).includes(k.slice(0, -5)) && typeof v === 'string') {
        const f = isAbsolute(v) ? v : resolve(baseDir, v);
        try {
          accessSync(f, constants.R_OK);
        } catch {
          if (!disabled) at(p, `secret file ${v} is not readable`);
        }
        out[k] = v;
      } else {
        out[k] = interpolate(v, p, env, baseDir, at, disabled);
      }
    }
    return out;
  }
  if (typeof value === 'string' && value.includes('${')) {
    return value.replace(ENV_INTERPOLATION_RE, (whole, name: string, dflt: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (dflt !== undefined) return dflt;
      if (!disabled) at(path, `environment variable ${name} is not set`);
      return whole;
    });
  }
  return value;
}
