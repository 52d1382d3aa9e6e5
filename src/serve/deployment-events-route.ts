/**
 * `POST /api/v1/deployments`: deployment events from any CI (Bitbucket Data Center has no
 * deployments API; Jenkins, Bamboo or GitHub Actions post one event per production deployment).
 * Authenticated like every endpoint (server.auth or the web config file's users), always: without
 * authentication the endpoint refuses every event. The body
 * is validated, stored atomically under server.state_dir before the answer (posted-events.ts), and
 * joined by the delivery source at its next refresh. Answers are JSON: 201 recorded, 200
 * duplicate (a retry, counted once) or ignored (not a production environment), 400 with the
 * problems by field, 401, 409 (an id reused for another deployment), 413.
 */
import express, { type ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { PostedEvents } from '../../exporters/delivery/posted-events.js';
import type { DeliveryConfig } from '../../exporters/delivery/config.js';
import type { Clock } from '../core/clock.js';
import { authMiddleware, type ServerAuth } from './auth.js';

export const DEPLOYMENT_EVENTS_PATH = '/api/v1/deployments';
/** Far above any real event (ten thousand changes fit), small enough to refuse garbage early. */
const MAX_BODY = '1mb';

export interface DeploymentEventsOptions {
  stateDir: string;
  settings: DeliveryConfig;
  auth: ServerAuth;
  clock: Clock;
  logger: Logger;
}

/** Mount the endpoint; throws when the stored events cannot be read (starting would lose them). */
export function mountDeploymentEvents(app: express.Router, o: DeploymentEventsOptions): PostedEvents {
  const store = new PostedEvents(o.stateDir, o.settings, o.clock);
  const refuseWithoutAuth: express.RequestHandler = (_req, res, next) => {
    if (o.auth) return next();
    res.set('WWW-Authenticate', 'Bearer realm="okr-metrics"');
    res.status(401).json({
      error:
        'deployment events need authentication, and none is configured: set server.auth (a bearer token or basic auth) or basic_auth_users in the web config file',
    });
  };
  app.post(DEPLOYMENT_EVENTS_PATH, refuseWithoutAuth, authMiddleware(o.auth), express.text({ type: () => true, limit: MAX_BODY }), (req, res) => {
    const text = typeof req.body === 'string' ? req.body : '';
    const result = store.record(text, req.get('idempotency-key') ?? undefined);
    if (result.status === 201) o.logger.info({ id: result.body.id, events: store.count }, 'deployment event recorded');
    else if (result.status === 400 || result.status === 409) o.logger.warn({ status: result.status, error: result.body.error }, 'deployment event refused');
    res.status(result.status).json(result.body);
  });
  const bodyErrors: ErrorRequestHandler = (err: { status?: number; type?: string }, _req, res, next) => {
    if (err?.type === 'entity.too.large') return void res.status(413).json({ error: `the body is larger than ${MAX_BODY}` });
    if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500)
      return void res.status(err.status).json({ error: 'the body could not be read' });
    next(err);
  };
  app.use(DEPLOYMENT_EVENTS_PATH, bodyErrors);
  return store;
}
