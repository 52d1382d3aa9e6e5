/**
 * Secrets: read from the environment or a file at start-up, wrapped so they cannot be
 * printed by accident, and remembered so every log line and error message can be scrubbed.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ENV_REF_RE } from './config-primitives.js';

const REDACTED = '[REDACTED]';
const known = new Set<string>();

/** A credential. `String(secret)`, JSON and `util.inspect` all print [REDACTED]. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
    // Very short values would scrub unrelated text; they are also not credentials.
    if (value.length >= 4) known.add(value);
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

/** `scheme://user:password@` in any URL: credentials however they got there. */
const URL_USERINFO_RE = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

/** `text` with the credentials of every URL in it replaced. */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_USERINFO_RE, `$1${REDACTED}@`);
}

/** Replace every known secret (and its base64 Basic-auth forms), and URL credentials, in `text`. */
export function redact(text: string): string {
  let out = redactUrlCredentials(text);
  for (const s of known) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/** Remember a derived credential (e.g. a base64 Basic header) so it is scrubbed too. */
export function registerSecretValue(value: string): void {
  if (value.length >= 4) known.add(value);
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolve the secret `key` of a settings object: `key: ${VAR}` from `env`, or `key_file: path`
 * read relative to `baseDir`. Validation has already checked the variable is set and the
 * file readable; a failure here (changed since) names the setting, never the value.
 */
export function resolveSecret(settings: Record<string, unknown>, key: string, ctx: { env: Env; baseDir: string }): Secret | undefined {
  const ref = settings[key];
  if (typeof ref === 'string') {
    const m = ENV_REF_RE.exec(ref);
    if (!m) throw new Error(`${key}: secrets must be an \${ENV_VAR} reference`);
    const value = ctx.env[m[1]!];
    if (value === undefined) throw new Error(`${key}: environment variable ${m[1]} is not set`);
    return new Secret(value);
  }
  const file = settings[`${key}_file`];
  if (typeof file === 'string') {
    const path = isAbsolute(file) ? file : resolve(ctx.baseDir, file);
    return new Secret(readFileSync(path, 'utf8').replace(/\r?\n$/, ''));
  }
  return undefined;
}
