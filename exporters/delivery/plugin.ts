/** Delivery performance: the four DORA keys, joined from the deployments and incidents other sources publish. */
import type { SourcePlugin } from '../../src/core/source.js';
import { backfillDelivery } from './backfill.js';
import { DeliveryConfig } from './config.js';
import { DeliveryCollector } from './delivery-collector.js';
import { DELIVERY_METRICS } from './metrics.js';
import { deliverySimulator } from './simulator/delivery-simulator.js';

export const deliveryPlugin = {
  name: 'delivery' as const,
  description: 'the four DORA keys, joined from Bitbucket Cloud deployments or CI deployment events and Jira incidents',
  config: DeliveryConfig,
  defaults: { interval: '1m', timeout: '1m' },
  metrics: DELIVERY_METRICS,
  create: (deps) => new DeliveryCollector(deps),
  backfill: backfillDelivery,
  joinsFeeds: true,
  simulator: deliverySimulator,
  references: {
    delivery_service: {
      names: (s) => s.services.map((svc) => ({ name: svc.name, ...(svc.team ? { team: svc.team } : {}) })),
      unknown: (name, known) => `service "${name}" is not in sources.delivery.services${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
    },
    delivery_environment: {
      names: (s) => s.environments.map((name) => ({ name })),
      unknown: (name, known) => `environment "${name}" is not in sources.delivery.environments${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
    },
  },
} satisfies SourcePlugin<DeliveryConfig>;
