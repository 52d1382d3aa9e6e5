/** Step 5: every dashboard, by uid. */
import { DASHBOARD_UID } from '../../conventions.js';
import type { GenerateModel } from '../model.js';
import { apiDashboard } from './api.js';
import { bitbucketDashboard } from './bitbucket.js';
import { deliveryDashboard } from './delivery.js';
import { deliveryPerformanceDashboard } from './delivery-performance.js';
import { healthDashboard } from './health.js';
import { overviewDashboard } from './overview.js';
import { qualityDashboard } from './quality.js';

export const DASHBOARDS: Array<{ uid: string; build: (m: GenerateModel) => Record<string, unknown> }> = [
  { uid: DASHBOARD_UID.overview, build: overviewDashboard },
  { uid: DASHBOARD_UID.api, build: apiDashboard },
  { uid: DASHBOARD_UID.delivery, build: deliveryDashboard },
  { uid: DASHBOARD_UID.deliveryPerformance, build: deliveryPerformanceDashboard },
  { uid: DASHBOARD_UID.quality, build: qualityDashboard },
  { uid: DASHBOARD_UID.bitbucket, build: bitbucketDashboard },
  { uid: DASHBOARD_UID.health, build: healthDashboard },
];
