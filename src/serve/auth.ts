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

export function authMiddleware(auth: ServerAuth) {
  const verified = new Set<string>();
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!auth) return next();
    const header = req.get('authorization') ?? '';
    const refuse = (scheme: string) => {
      res.set('WWW-Authenticate', `${scheme} realm="okr-metrics"`);
      res.status(401).type('text/plain').send('unauthorized\n');
    };
    if ('bearerToken' in auth) {
      if (header.startsWith('Bearer ') && same(header.slice(7), auth.bearerToken.reveal())) return next();
      return refuse('Bearer');
    }
    if ('basic' in auth) {
      const expected = Buffer.from(`${auth.basic.username}:${auth.basic.password.reveal()}`).toString('base64');
      if (header.startsWith('Basic ') && same(header.slice(6), expected)) return next();
      return refuse('Basic');
    }
    const creds = basicCredentials(header);
    if (!creds) return refuse('Basic');
    const hash = auth.basicUsers.get(creds.user);
    const key = createHash('sha256').update(`${creds.user}\0${creds.password}\0${hash ?? ''}`).digest('hex');
    if (hash !== undefined && verified.has(key)) return next();
    bcrypt.compare(creds.password, hash ?? DUMMY_HASH).then(
      (ok) => {
        if (!ok || hash === undefined) return refuse('Basic');
        if (verified.size >= MAX_CACHED) verified.clear();
        verified.add(key);
        next();
      },
      () => refuse('Basic'),
    );
  };
}

/**
 * Client certificates where TLS alone does not enforce them (Go's semantics of client_auth_type):
 * RequireAnyClientCert needs a certificate, verified or not; VerifyClientCertIfGiven refuses an
 * unverifiable one. RequireAndVerifyClientCert is enforced by the TLS handshake itself.
 */
export function clientCertMiddleware(type: ClientAuthType) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const socket = req.socket as TLSSocket;
    const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const given = cert !== undefined && Object.keys(cert).length > 0;
    if (type === 'RequireAnyClientCert' && !given) {
      res.status(403).type('text/plain').send('a client certificate is required\n');
      return;
    }
    if (type === 'VerifyClientCertIfGiven' && given && !socket.authorized) {
      res.status(403).type('text/plain').send('the client certificate is not trusted\n');
      return;
    }
    next();
  };
}
