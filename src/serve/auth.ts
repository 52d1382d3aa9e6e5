/**
 * Optional authentication in front of every endpoint: a bearer token or basic auth from the OKR
 * file (server.auth, compared in constant time), or the users of a web config file
 * (basic_auth_users, bcrypt hashes as Prometheus exporters take them).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { NextFunction, Request, Response } from 'express';
import type { TLSSocket } from 'node:tls';
import type { Secret } from '../core/secrets.js';
import type { ClientAuthType } from '../config/web-config.js';

export type ServerAuth = { bearerToken: Secret } | { basic: { username: string; password: Secret } } | { basicUsers: ReadonlyMap<string, string> } | undefined;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Compared against when the user is unknown, so an unknown user costs as much as a wrong password. */
const DUMMY_HASH = '$2b$10$07MgQvnQ21RJ7GP3731BIuUK2MUh3jLSg.ya1xLurqGlJjkIlvPOq';
/** Successful checks, by hash of user, password and stored hash: bcrypt costs ~70 ms, a scrape should not. */
const MAX_CACHED = 256;

function basicCredentials(header: string): { user: string; password: string } | undefined {
  if (!header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Whether an Authorization header is accepted: a boolean, or a promise when a bcrypt hash has to
 * be checked (successful checks are remembered, so a scraper pays bcrypt once).
 */
export interface Authenticator {
  /** The WWW-Authenticate scheme of a refusal. */
  scheme: 'Bearer' | 'Basic';
  check(header: string): boolean | Promise<boolean>;
}

export function authenticator(auth: NonNullable<ServerAuth>): Authenticator {
  if ('bearerToken' in auth) return { scheme: 'Bearer', check: (h) => h.startsWith('Bearer ') && same(h.slice(7), auth.bearerToken.reveal()) };
  if ('basic' in auth) {
    return {
      scheme: 'Basic',
      check: (h) => h.startsWith('Basic ') && same(h.slice(6), Buffer.from(`${auth.basic.username}:${auth.basic.password.reveal()}`).toString('base64')),
    };
  }
  const verified = new Set<string>();
  return {
    scheme: 'Basic',
    check: (header) => {
      const creds = basicCredentials(header);
      if (!creds) return false;
      const hash = auth.basicUsers.get(creds.user);
      const key = createHash('sha256')
        .update(`${creds.user}\0${creds.password}\0${hash ?? ''}`)
        .digest('hex');
      if (hash !== undefined && verified.has(key)) return true;
      return bcrypt.compare(creds.password, hash ?? DUMMY_HASH).then(
        (ok) => {
          if (!ok || hash === undefined) return false;
          if (verified.size >= MAX_CACHED) verified.clear();
          verified.add(key);
          return true;
        },
        () => false,
      );
    },
  };
}

export function authMiddleware(auth: ServerAuth) {
  const a = auth ? authenticator(auth) : undefined;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!a) return next();
    const refuse = () => {
      res.set('WWW-Authenticate', `${a.scheme} realm="okr-metrics"`);
      res.status(401).type('text/plain').send('unauthorized\n');
    };
    const ok = a.check(req.get('authorization') ?? '');
    if (ok === true) return next();
    if (ok === false) return refuse();
    ok.then((yes) => (yes ? next() : refuse()), refuse);
  };
}

/**
 * Client certificates where TLS alone does not enforce them (Go's semantics of client_auth_type):
 * RequireAnyClientCert needs a certificate, verified or not; VerifyClientCertIfGiven refuses an
 * unverifiable one. RequireAndVerifyClientCert is enforced by the TLS handshake itself.
 */
export function clientCertProblem(type: ClientAuthType, socket: TLSSocket): string | undefined {
  const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  const given = cert !== undefined && Object.keys(cert).length > 0;
  if (type === 'RequireAnyClientCert' && !given) return 'a client certificate is required';
  if (type === 'VerifyClientCertIfGiven' && given && !socket.authorized) return 'the client certificate is not trusted';
  return undefined;
}

export function clientCertMiddleware(type: ClientAuthType) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const problem = clientCertProblem(type, req.socket as TLSSocket);
    if (problem) {
      res.status(403).type('text/plain').send(`${problem}\n`);
      return;
    }
    next();
  };
}
