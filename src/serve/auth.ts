/** Optional bearer-token or basic auth in front of every endpoint, compared in constant time. */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Secret } from '../core/secrets.js';

export type ServerAuth = { bearerToken: Secret } | { basic: { username: string; password: Secret } } | undefined;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function authMiddleware(auth: ServerAuth) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!auth) return next();
    const header = req.get('authorization') ?? '';
    if ('bearerToken' in auth) {
      if (header.startsWith('Bearer ') && same(header.slice(7), auth.bearerToken.reveal())) return next();
      res.set('WWW-Authenticate', 'Bearer realm="okr-metrics"');
    } else {
      const expected = Buffer.from(`${auth.basic.username}:${auth.basic.password.reveal()}`).toString('base64');
      if (header.startsWith('Basic ') && same(header.slice(6), expected)) return next();
      res.set('WWW-Authenticate', 'Basic realm="okr-metrics"');
    }
    res.status(401).type('text/plain').send('unauthorized\n');
  };
}
