/**
 * The demo's Prometheus and Alertmanager: the rules, dashboards and routing `generate` writes for
 * the demo OKR file, Alertmanager's webhook pointed at a receiver that reports each notification
 * (or at OKR_ALERT_WEBHOOK_URL when set), and Prometheus scraping the exporter, all on loopback.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument, stringify } from 'yaml';
import type { LoadedConfig } from '../config/load-config.js';
import { generate, PATHS } from '../generate/generate.js';
import { ALERTMANAGER_ENV, prometheusConfig, renderAlertmanagerConfig } from '../generate/provisioning.js';
import { writeFiles } from '../generate/write-files.js';
import { DELIVERY_PERFORMANCE_GROUP } from '../generate/recording-rules.js';
import { portOr, startAlertmanager, startPrometheus, type RunningProcess } from '../prometheus-tools.js';
import { describeAlert, startAlertReceiver, type AlertReceiver } from './alert-receiver.js';

export interface LocalStackOptions {
  loaded: LoadedConfig;
  /** The demo directory: generated/, alertmanager/ and prometheus/ go under it. */
  dir: string;
  binaries: { prometheus: string; alertmanager: string };
  exporterPort: number;
  /** Decided beforehand: the OKR file names Prometheus' URL. */
  prometheusPort: number;
  /** Preferred; a busy one is replaced by a free one. */
  alertmanagerPort: number;
  /** Prometheus scrape and rule evaluation interval. */
  evaluation: string;
  /** Alertmanager group_wait and group_interval. */
  groupWait: string;
  say: (line: string) => void;
}

export interface LocalStack {
  prometheus: RunningProcess;
  alertmanager: RunningProcess;
  receiver: AlertReceiver;
  stop(): Promise<void>;
}

export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const generated = join(o.dir, 'generated');
    const files = generate(o.loaded).files.map((f) => (f.path === PATHS.recordingRules ? { ...f, content: demoPaced(f.content, o.evaluation) } : f));
    writeFiles(generated, files);
    const receiver = await startAlertReceiver('127.0.0.1', (a, r) => o.say(describeAlert(a, r)));
    stops.push(() => receiver.close());

    // Filled as render-config.sh fills it in the compose stack.
    const amFile = join(o.dir, 'alertmanager', 'alertmanager.yml');
    mkdirSync(join(o.dir, 'alertmanager', 'data'), { recursive: true });
    const env = { ...process.env, [ALERTMANAGER_ENV.webhookUrl]: process.env[ALERTMANAGER_ENV.webhookUrl] || receiver.url };
    writeFileSync(amFile, renderAlertmanagerConfig(files.find((f) => f.path === PATHS.alertmanager)!.content, env, o.groupWait));
    const alertmanager = await startAlertmanager(o.binaries.alertmanager, amFile, {
      port: await portOr(o.alertmanagerPort),
      dataDir: join(o.dir, 'alertmanager', 'data'),
    });
    stops.push(() => alertmanager.stop());

    const promFile = join(o.dir, 'prometheus', 'prometheus.yml');
    mkdirSync(join(o.dir, 'prometheus', 'data'), { recursive: true });
    const config = prometheusConfig({
      exporterTargets: [`127.0.0.1:${o.exporterPort}`],
      alertmanagerTargets: [`127.0.0.1:${alertmanager.port}`],
      scrapeInterval: o.evaluation,
      evaluationInterval: o.evaluation,
      ruleFiles: [join(generated, PATHS.recordingRules), join(generated, PATHS.alertRules)],
    });
    writeFileSync(promFile, stringify(config));
    const prometheus = await startPrometheus(o.binaries.prometheus, {
      configFile: promFile,
      port: o.prometheusPort,
      dataDir: join(o.dir, 'prometheus', 'data'),
    });
    stops.push(() => prometheus.stop());
    return { prometheus, alertmanager, receiver, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Recording groups the dashboards read that production evaluates every 5 minutes but that are
 * cheap enough for the demo's pace: their panels fill within seconds instead of up to 5 minutes
 * (Prometheus starts a group at an offset within its interval).
 */
const DEMO_PACED_GROUPS = [DELIVERY_PERFORMANCE_GROUP];

function demoPaced(rules: string, evaluation: string): string {
  const doc = parseDocument(rules);
  const groups = doc.get('groups');
  if (isSeq(groups)) for (const g of groups.items) if (isMap(g) && DEMO_PACED_GROUPS.includes(String(g.get('name')))) g.set('interval', evaluation);
  return doc.toString();
}
