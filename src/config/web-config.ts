/**
 * TLS and basic auth the way Prometheus exporters do it: a web configuration file in the
 * exporter-toolkit format (`--web.config.file`, or `server.web_config_file` in the OKR file),
 * so a file written for node_exporter works here. Supported: `tls_server_config` (cert/key as
 * files or inline PEM, client certificates with `client_auth_type` and a CA, `min_version`,
 * `max_version`), `http_server_config.headers`, and `basic_auth_users` (bcrypt hashes, as
 * `htpasswd -nBC 10 "" | tr -d ':\n'` prints them). Settings we do not implement are refused,
 * never ignored: a TLS or rate-limit setting silently dropped would be a false sense of safety.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { createSecureContext, type TlsOptions } from 'node:tls';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { parseYamlFile, readConfigText } from './yaml-file.js';
import { positionOf } from './yaml-positions.js';

const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];
const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
/** The response headers exporter-toolkit allows. */
const HEADERS = ['Content-Security-Policy', 'X-Frame-Options', 'X-Content-Type-Options', 'X-XSS-Protection', 'Strict-Transport-Security'] as const;
/** exporter-toolkit settings okr-metrics does not implement. */
const UNSUPPORTED = new Set(['cipher_suites', 'curve_preferences', 'prefer_server_cipher_suites', 'client_allowed_sans', 'rate_limit', 'http2']);
/** `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 22 characters of salt and 31 of hash. */
const BCRYPT_RE = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

const Tls = z.strictObject({
  cert: z.string().optional(),
  key: z.string().optional(),
  client_ca: z.string().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
  client_auth_type: z.enum(CLIENT_AUTH_TYPES).default('NoClientCert'),
  client_ca_file: z.string().optional(),
  min_version: z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS]).default('TLS12'),
  max_version: z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS]).default('TLS13'),
});

const WebConfigSchema = z.strictObject({
  tls_server_config: Tls.optional(),
  http_server_config: z.strictObject({ headers: z.partialRecord(z.enum(HEADERS), z.string()).optional() }).optional(),
  basic_auth_users: z
    .record(
      z
        .string()
        .min(1)
        .regex(/^[^:]+$/, 'user names cannot contain ":"'),
      z.string().regex(BCRYPT_RE, 'must be a bcrypt hash ($2y$10$...); make one with htpasswd -nBC 10 "" | tr -d \':\\n\''),
    )
    .optional(),
});

/** What the HTTP server needs from a web config file. */
export interface WebConfig {
  file: string;
  tls?: {
    options: TlsOptions;
    clientAuth: ClientAuthType;
    /** Files the PEMs came from (watched for renewals), and which PEM came from which. */
    files: string[];
    sources: { cert?: string; key?: string; ca?: string };
  };
  headers: Record<string, string>;
  /** User → bcrypt hash. */
  basicAuthUsers?: Map<string, string>;
}

/** Load and check a web config file; every problem is a ConfigError with its position. */
export function loadWebConfig(path: string, baseDir: string): WebConfig {
  const file = isAbsolute(path) ? path : resolve(baseDir, path);
  const { doc, lc, data } = parseYamlFile(readConfigText(file, 'web config file not found'), file);
  const issues: ConfigIssue[] = [];
  const at = (p: Array<string | number>, message: string, atKey = false) => {
    const { line, col } = positionOf(doc, lc, p, atKey);
    issues.push({ file, line, col, path: p, message });
  };
  const raw = (data ?? {}) as Record<string, unknown>;
  // Unsupported settings first, with a message better than "unknown key".
  const stripped = { ...raw };
  for (const key of Object.keys(raw))
    if (UNSUPPORTED.has(key)) at([key], `${key} is not supported by okr-metrics; remove it (or put a reverse proxy in front)`, true);
  for (const section of ['tls_server_config', 'http_server_config']) {
    const v = raw[section];
    if (v && typeof v === 'object') {
      const copy = { ...(v as Record<string, unknown>) };
      for (const key of Object.keys(copy)) {
        if (UNSUPPORTED.has(key)) {
          at([section, key], `${key} is not supported by okr-metrics; remove it`, true);
          delete copy[key];
        }
      }
      stripped[section] = copy;
    }
  }
  for (const key of Object.keys(stripped)) if (UNSUPPORTED.has(key)) delete stripped[key];
  const parsed = WebConfigSchema.safeParse(stripped);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const p = i.path.filter((x): x is string | number => typeof x !== 'symbol');
      if (i.code === 'unrecognized_keys') for (const k of i.keys) at([...p, k], `unknown key "${k}"`, true);
      else at(p, i.message);
    }
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  const cfg = parsed.data;
  const out: WebConfig = { file, headers: { ...(cfg.http_server_config?.headers ?? {}) } };
  if (cfg.basic_auth_users && Object.keys(cfg.basic_auth_users).length > 0) out.basicAuthUsers = new Map(Object.entries(cfg.basic_auth_users));

  const tls = cfg.tls_server_config;
  if (tls) {
    const files: string[] = [];
    const sources: { cert?: string; key?: string; ca?: string } = {};
    const pem = (inline: string | undefined, fileKey: 'cert_file' | 'key_file' | 'client_ca_file', inlineKey: string): string | undefined => {
      const f = tls[fileKey];
      if (inline !== undefined && f !== undefined) {
        at(['tls_server_config', fileKey], `give either ${inlineKey} or ${fileKey}, not both`);
        return undefined;
      }
      if (inline !== undefined) return inline;
      if (f === undefined) return undefined;
      // As exporter-toolkit does: relative to the web config file.
      const abs = isAbsolute(f) ? f : resolve(dirname(file), f);
      try {
        const text = readFileSync(abs, 'utf8');
        files.push(abs);
        sources[fileKey === 'cert_file' ? 'cert' : fileKey === 'key_file' ? 'key' : 'ca'] = abs;
        return text;
      } catch (e) {
        at(['tls_server_config', fileKey], `cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        return undefined;
      }
    };
    const cert = pem(tls.cert, 'cert_file', 'cert');
    const key = pem(tls.key, 'key_file', 'key');
    const ca = pem(tls.client_ca, 'client_ca_file', 'client_ca');
    if (cert === undefined && tls.cert === undefined && tls.cert_file === undefined)
      at(['tls_server_config'], 'a certificate is required: cert_file (or cert)');
    if (key === undefined && tls.key === undefined && tls.key_file === undefined) at(['tls_server_config'], 'a private key is required: key_file (or key)');
    const verifies = tls.client_auth_type === 'RequireAndVerifyClientCert' || tls.client_auth_type === 'VerifyClientCertIfGiven';
    if (verifies && ca === undefined && tls.client_ca === undefined && tls.client_ca_file === undefined)
      at(['tls_server_config', 'client_auth_type'], `${tls.client_auth_type} needs client_ca_file (or client_ca) to verify client certificates against`);
    if (TLS_ORDER.indexOf(tls.min_version) > TLS_ORDER.indexOf(tls.max_version)) at(['tls_server_config', 'min_version'], 'min_version is above max_version');
    if (issues.length > 0) throw new ConfigError(issues);
    const options: TlsOptions = {
      cert,
      key,
      ...(ca !== undefined ? { ca } : {}),
      minVersion: TLS_VERSIONS[tls.min_version],
      maxVersion: TLS_VERSIONS[tls.max_version],
      requestCert: tls.client_auth_type !== 'NoClientCert',
      rejectUnauthorized: tls.client_auth_type === 'RequireAndVerifyClientCert',
    };
    try {
      // A key that does not match the certificate, or a PEM that is not one, fails here, not at the first scrape.
      createSecureContext(options);
    } catch (e) {
      throw new ConfigError([
        { file, ...positionOf(doc, lc, ['tls_server_config'], false), path: ['tls_server_config'], message: `TLS: ${(e as Error).message}` },
      ]);
    }
    out.tls = { options, clientAuth: tls.client_auth_type, files, sources };
  }
  return out;
}

const TLS_ORDER = Object.keys(TLS_VERSIONS);
