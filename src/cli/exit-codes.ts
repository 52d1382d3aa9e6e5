/** Process exit codes, one meaning each. */
export const EXIT = {
  ok: 0,
  /** A runtime failure: a source, Prometheus or the file system failed. */
  failure: 1,
  /** Bad input: invalid config or arguments. Nothing was started. */
  usage: 2,
} as const;
