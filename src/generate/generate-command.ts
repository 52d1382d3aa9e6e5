/**
 * `okr-metrics generate [-c okrs.yaml] [--out DIR] [--check]`: write (or compare) every
 * rule file, dashboard and provisioning file generated from the OKR file.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { generate } from './generate.js';
import { checkFiles, writeFiles, type FileDifference } from './write-files.js';

export interface GenerateCommandOptions {
  config: string;
  out: string;
  check?: boolean;
}

export interface GenerateCommandResult {
  files: string[];
  /** Only in --check mode: files that differ from what generation would write. */
  differences?: FileDifference[];
}

export function runGenerate(opts: GenerateCommandOptions): GenerateCommandResult {
  const loaded = loadConfig(opts.config);
  const { files } = generate(loaded);
  const out = resolve(opts.out);
  if (opts.check) return { files: files.map((f) => f.path), differences: checkFiles(out, files) };
  writeFiles(out, files);
  return { files: files.map((f) => f.path) };
}
