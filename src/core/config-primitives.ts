/**
 * Small zod building blocks shared by the OKR spec and every source's settings.
 * Kept free of other project imports (but the dependency-free duration.ts) so exporters'
 * config schemas can use them without import cycles.
 */
import { z } from 'zod';
import { DURATION_RE, durationSeconds } from './duration.js';

export { durationSeconds };

/** A duration field, kept as written (`5m`) so it can be echoed back into rules and docs. */
export const Duration = z
  .string()
  // abort: zod 4 runs the refine below even after the regex failed, and durationSeconds throws.
  .regex(DURATION_RE, { message: 'must be a duration such as 30s, 5m, 1h or 1h30m', abort: true })
  .refine((s) => durationSeconds(s) > 0, 'must be longer than zero');

/** A duration that may be zero (`for: 0s`: alert at once). */
export const DurationOrZero = z.string().regex(DURATION_RE, 'must be a duration such as 0s, 30s, 5m or 1h');

/** A `${VAR}` reference: the only way a secret may be written inline in the file. */
export const ENV_REF_RE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** `${VAR}` or `${VAR:-default}` anywhere in a plain (non-secret) string. */
export const ENV_INTERPOLATION_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Keys whose values are credentials. Each may be given as `${ENV_VAR}` or through a
 * sibling `<key>_file` path; a literal value is rejected so secrets never live in git.
 */
export const SECRET_KEYS = ['api_token', 'token', 'password', 'bearer_token', 'access_token', 'personal_access_token'] as const;

/**
 * HTTP header names whose values are credentials (`prometheus.headers`): Authorization, Cookie
 * and any name that mentions auth, a token, key, secret, password, credential or session
 * (X-Api-Key, X-Auth-Token). Their values are secrets like the keys above; X-Scope-OrgID is not.
 */
const SECRET_HEADER_RE = /auth|cookie|token|secret|passw|api[-_]?key|credential|session/i;

export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER_RE.test(name);
}

/** Whether `key`, found in the mapping named `parent`, holds a credential. */
export function isSecretSetting(parent: string | number | undefined, key: string): boolean {
  return (SECRET_KEYS as readonly string[]).includes(key) || (parent === 'headers' && isSecretHeader(key));
}

export const SecretRef = z
  .string()
  .regex(ENV_REF_RE, 'secrets must be an ${ENV_VAR} reference (or use the matching *_file setting), never a literal value')
  .meta({ description: 'An ${ENV_VAR} reference; the value is read from the environment at start-up.' });

export const SecretFile = z.string().min(1).meta({ description: 'Path of a file holding the secret (relative to the config file); trailing newline ignored.' });

/** `id` fields: stable, label- and uid-safe. */
export const Id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, "-" or "_" (at most 63 characters)');

/** Whether `url` carries credentials (`user:password@host`). */
export function urlHasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

export const URL_CREDENTIALS_MESSAGE =
  'a URL must not carry credentials ("user:password@"): they would be printed in logs, errors and reports. Remove them and use the credential settings of the section (prometheus: basic_auth or bearer_token with ${ENV_VAR}; a source: its token settings)';

export const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).refine((u) => !urlHasCredentials(u), URL_CREDENTIALS_MESSAGE);

/** Settings every source shares: on/off, how often to refresh, how long one refresh may take. */
export const sourceCommon = {
  enabled: z.boolean().default(true),
  refresh_interval: Duration.optional(),
  timeout: Duration.optional(),
};
