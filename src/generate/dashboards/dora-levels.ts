/**
 * The DORA software delivery performance levels of the 2024 Accelerate State of DevOps report
 * (DORA / Google Cloud, October 2024, https://dora.dev/research/2024/dora-report/), as data:
 * the Delivery performance dashboard colours each key by them. 2024 is the latest report that
 * publishes levels: the 2025 report (State of AI-assisted Software Development) replaced the
 * four levels by seven team archetypes. The figures, as the report's sponsor Octopus Deploy
 * tabulated them ("The 2024 DevOps performance clusters", octopus.com/blog/2024-devops-performance-clusters):
 *
 *   level   deployment frequency           lead time           change failure rate  recovery time
 *   elite   on demand (several a day)      less than a day     5%                   less than an hour
 *   high    daily to weekly                1 day to 1 week     20%                  less than a day
 *   medium  weekly to monthly              1 week to 1 month   10%                  less than a day
 *   low     monthly to every six months    1 to 6 months       40%                  1 week to 1 month
 *
 * The change failure rates are the clusters' typical rates, not bounds, and in 2024 the high
 * cluster's (20%) is worse than the medium one's (10%); the colours below go by the rate alone.
 */

export const DORA_REPORT = {
  year: 2024,
  title: 'Accelerate State of DevOps Report 2024',
  url: 'https://dora.dev/research/2024/dora-report/',
} as const;

const DAY = 86_400;

export interface DoraKeyLevels {
  title: string;
  unit: string;
  /** Grafana threshold steps (value from which a colour applies), from the worst or best end. */
  steps: Array<[number | null, string]>;
  /** One line per level, for descriptions. */
  levels: string;
}

/** Green: elite; yellow: high; orange: medium; red: low or below. */
export const DORA_LEVELS = {
  deploymentFrequency: {
    title: 'Deployment frequency',
    unit: 'deployments per day',
    // Elite deploys on demand, several times a day; high between once a day and once a week; medium once a week to once a month.
    steps: [
      [null, 'red'],
      [1 / 30, 'orange'],
      [1 / 7, 'yellow'],
      [1, 'green'],
    ],
    levels: 'elite: on demand (1 or more a day); high: daily to weekly (1/7 a day); medium: weekly to monthly (1/30 a day); low: monthly to every six months',
  },
  leadTime: {
    title: 'Lead time for changes',
    unit: 'seconds',
    steps: [
      [null, 'green'],
      [DAY, 'yellow'],
      [7 * DAY, 'orange'],
      [30 * DAY, 'red'],
    ],
    levels: 'elite: less than a day; high: 1 day to 1 week; medium: 1 week to 1 month; low: 1 to 6 months',
  },
  changeFailureRate: {
    title: 'Change failure rate',
    unit: 'ratio',
    steps: [
      [null, 'green'],
      [0.05, 'yellow'],
      [0.1, 'orange'],
      [0.2, 'red'],
    ],
    levels: 'elite cluster: 5%; medium: 10%; high: 20%; low: 40% (typical rates of each cluster, not bounds)',
  },
  recoveryTime: {
    title: 'Failed deployment recovery time',
    unit: 'seconds',
    steps: [
      [null, 'green'],
      [3600, 'yellow'],
      [DAY, 'red'],
    ],
    levels: 'elite: less than an hour; high and medium: less than a day; low: 1 week to 1 month',
  },
} as const satisfies Record<string, DoraKeyLevels>;

/** The table above in Markdown, for the dashboard's text panel. */
export function doraLevelsMarkdown(): string {
  return [
    `**DORA software delivery performance levels, ${DORA_REPORT.year}** ([${DORA_REPORT.title}](${DORA_REPORT.url})). The latest report with levels: the 2025 report replaced them by seven team archetypes.`,
    '',
    '| level | deployment frequency | lead time for changes | change failure rate | failed deployment recovery time |',
    '|---|---|---|---|---|',
    '| elite (green) | on demand, several a day | less than a day | 5% | less than an hour |',
    '| high (yellow) | daily to weekly | 1 day to 1 week | 20% | less than a day |',
    '| medium (orange) | weekly to monthly | 1 week to 1 month | 10% | less than a day |',
    '| low (red) | monthly to every six months | 1 to 6 months | 40% | 1 week to 1 month |',
    '',
    'Change failure rates are the clusters’ typical rates (in 2024 the high cluster’s is above the medium one’s); the colours go by the rate: green to 5%, yellow to 10%, orange to 20%, red above. Figures over the last 30 days; the dashed orange lines are key result targets.',
  ].join('\n');
}
