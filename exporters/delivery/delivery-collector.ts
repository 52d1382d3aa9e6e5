/**
 * The delivery collector: each refresh reads the delivery feeds under server.state_dir (what
 * Bitbucket, Jira and the deployment events endpoint published), folds what happened since the
 * last refresh into its checkpointed counters (delivery-fold.ts) and serves them. It calls no
 * API itself, so a refresh costs a few file reads.
 */
import { durationSeconds } from '../../src/core/config-primitives.js';
import { readDeliveryFeeds } from '../../src/core/delivery-feed.js';
import { SourceError, type CollectContext, type Collector, type Snapshot, type SourceDeps } from '../../src/core/source.js';
import { ownerOf, type Teams } from '../../src/core/teams.js';
import type { DeliveryConfig } from './config.js';
import { foldDelivery, type DeliveryState, type FoldReport, type FoldSettings } from './delivery-fold.js';
import { renderDeliverySnapshot } from './delivery-snapshot.js';
import { loadDeliveryState, saveDeliveryState } from './delivery-state.js';

/** The fold's view of the settings: each service with its repository and team resolved. */
export function foldSettings(cfg: DeliveryConfig, teams: Teams): FoldSettings {
  return {
    services: cfg.services.map((s) => {
      const repository = s.repository ?? s.name;
      return {
        name: s.name,
        repository,
        incidents: [...s.incidents],
        team: s.team ?? (ownerOf(teams, 'repos', repository) || ownerOf(teams, 'services', s.name)),
      };
    }),
    environments: [...cfg.environments],
    origins: [...cfg.deployments_from],
    windowMs: durationSeconds(cfg.change_failure_window) * 1000,
  };
}

/** What the collector is waiting for, in words: feeds the join needs that are not there yet. */
export function missingFeeds(report: FoldReport): string[] {
  return Object.entries(report.complete)
    .filter(([, ms]) => !Number.isFinite(ms))
    .map(([feed]) => {
      const [origin, query] = feed.split(':');
      return origin === 'jira' ? `incidents of sources.jira.incidents.${query} from Jira` : `deployments from ${origin} (sources.${origin}.deployments)`;
    });
}

export class DeliveryCollector implements Collector {
  readonly source = 'delivery' as const;
  private state: DeliveryState | undefined;
  private readonly settings: FoldSettings;
  private warned = '';
  /** Without a state file, counting starts when serve starts (what came before is the backfill's). */
  private readonly startMs: number;

  constructor(private readonly deps: SourceDeps<DeliveryConfig>) {
    this.settings = foldSettings(deps.settings, deps.teams);
    this.startMs = deps.clock.now();
  }

  async collect(ctx: CollectContext): Promise<Snapshot> {
    this.state ??= loadDeliveryState(this.deps.stateDir, ctx.logger, this.startMs);
    const { feeds, problems } = readDeliveryFeeds([this.deps.stateDir]);
    if (problems.length > 0)
      throw new SourceError(
        'invalid_output',
        `delivery: cannot read ${problems.map((p) => `${p.file} (${p.message})`).join('; ')}; the last good figures are kept`,
      );
    const report = foldDelivery(this.state, feeds, this.deps.clock.now(), this.settings);
    const waiting = missingFeeds(report);
    const note = waiting.length > 0 ? `delivery: change failures are not settled until these feeds arrive: ${waiting.join('; ')}` : '';
    if (note !== this.warned) {
      if (note) ctx.logger.warn(note);
      else if (this.warned) ctx.logger.info('delivery: every feed the join needs has arrived');
      this.warned = note;
    }
    // Persist before serving: the counters Prometheus sees never run ahead of the checkpoint.
    try {
      saveDeliveryState(this.deps.stateDir, this.state);
    } catch (e) {
      throw new SourceError(
        'error',
        `delivery: cannot write the state file in ${this.deps.stateDir} (check server.state_dir is writable): ${(e as Error).message}`,
      );
    }
    return renderDeliverySnapshot(this.state, this.settings, report);
  }
}
