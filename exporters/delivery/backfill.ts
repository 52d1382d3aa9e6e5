/**
 * Delivery history: the feeds this backfill's Bitbucket and Jira published (their own history over
 * the range), and the deployment events posted to the live `serve`, folded at every instant
 * something happens with the live collector's fold and rendered by its snapshot. Counting starts
 * at --from, as the live counters start at their first refresh; what happened before it is
 * context (the deployment an incident follows, the release a rollback undoes).
 *
 * Not backfilled: delivery_feed_complete_timestamp_seconds (the live join's progress).
 */
import { readDeliveryFeeds } from '../../src/core/delivery-feed.js';
import { SourceError, type BackfillContext } from '../../src/core/source.js';
import type { DeliveryConfig } from './config.js';
import { foldSettings, missingFeeds } from './delivery-collector.js';
import { changeInstants, emptyDeliveryState, foldDelivery } from './delivery-fold.js';
import { renderDeliverySnapshot } from './delivery-snapshot.js';
import { DELIVERY_METRICS } from './metrics.js';

export async function backfillDelivery(b: BackfillContext<DeliveryConfig>): Promise<void> {
  const { feeds, problems } = readDeliveryFeeds(b.feedDirs ?? []);
  if (problems.length > 0) throw new SourceError('invalid_output', `delivery: cannot read ${problems.map((p) => `${p.file} (${p.message})`).join('; ')}`);
  const settings = foldSettings(b.settings, b.teams);
  b.progress.setTotal(1);
  const state = emptyDeliveryState(b.range.fromMs);
  const { lastMs } = b.timeline.grid;
  const missing = missingFeeds(foldDelivery(emptyDeliveryState(b.range.fromMs), feeds, lastMs, settings));
  if (missing.length > 0)
    throw new SourceError(
      'not_found',
      `delivery: no ${missing.join(', ')} to join; backfill those sources in the same run (they are by default), or let serve publish them first`,
    );
  b.timeline.holdFromChanges(changeInstants(feeds, settings), (t) =>
    renderDeliverySnapshot(state, settings, foldDelivery(state, feeds, t, settings)).filter((f) => f.name !== DELIVERY_METRICS.feedComplete),
  );
  b.progress.advance(1);
}
