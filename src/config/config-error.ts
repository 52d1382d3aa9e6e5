/** One problem in a config file, located so an editor can jump to it. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** Path into the document, e.g. ["objectives", 1, "key_results", 0, "target"]. */
  path: Array<string | number>;
  message: string;
}

/** `objectives[1].key_results[0].target` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(root)' : out;
}

/** `okrs.yaml:12:7: objectives[1].key_results[0].target: message` */
export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${formatPath(i.path)}: ${i.message}`;
}

/** Every problem of a config file at once; the CLI prints them one per line and exits 2. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

/** A bad command-line argument: the CLI exits 2. */
export class UsageError extends Error {}
