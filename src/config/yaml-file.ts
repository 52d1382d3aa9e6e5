/**
 * Reading a YAML file we are given (the OKR file, a web config file) with positions and limits.
 * A configuration file is small: one far beyond any real one (a wrong path, a generated dump, a
 * hostile file) is refused before parsing, which would otherwise take minutes and gigabytes; an
 * alias bomb (aliases of aliases, a billion laughs) is refused when it is expanded. Both are
 * ConfigErrors (exit 2) with file:line:col like every other problem in a file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isAlias, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { ConfigError, type ConfigIssue } from './config-error.js';

/** Far above any real configuration file (the example OKR file is about 10 KiB). */
export const MAX_CONFIG_BYTES = 2 * 1024 * 1024;
/** Aliases expanded at most, counting aliases inside expanded aliases. */
export const MAX_ALIAS_EXPANSIONS = 1000;

export interface YamlFile {
  doc: Document;
  lc: LineCounter;
  /** The document as plain data. */
  data: unknown;
}

function tooLarge(file: string, bytes: number): ConfigError {
  return new ConfigError([
    {
      file,
      line: 1,
      col: 1,
      path: [],
      message: `the file is ${(bytes / 1024 / 1024).toFixed(1)} MiB; configuration files are limited to ${MAX_CONFIG_BYTES / 1024 / 1024} MiB (is this the right file?)`,
    },
  ]);
}

/** Read a configuration file's text, refusing one over the size limit before reading it. */
export function readConfigText(file: string, notFound: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError([{ file, line: 1, col: 1, path: [], message: code === 'ENOENT' ? notFound : (e as Error).message }]);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new ConfigError([{ file, line: 1, col: 1, path: [], message: 'is a directory, not a file' }]);
    if (st.size > MAX_CONFIG_BYTES) throw tooLarge(file, st.size);
    // Read at most one byte past the limit: a file that grows (or a FIFO) cannot make us read more.
    const buf = Buffer.alloc(Math.min(st.size, MAX_CONFIG_BYTES) + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_CONFIG_BYTES) throw tooLarge(file, n);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Parse YAML text with positions, within the limits; YAML syntax errors are ConfigErrors. */
export function parseYamlFile(text: string, file: string): YamlFile {
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) throw tooLarge(file, Buffer.byteLength(text, 'utf8'));
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, merge: true, prettyErrors: false, uniqueKeys: true });
  const issues: ConfigIssue[] = [];
  for (const err of doc.errors) {
    const { line, col } = lc.linePos(err.pos[0]);
    issues.push({ file, line, col, path: [], message: `YAML: ${err.message.split('\n')[0]}` });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    // yaml's own message: "Excessive alias count indicates a resource exhaustion attack".
    let at = 0;
    visit(doc, {
      Alias(_key, node) {
        if (isAlias(node) && node.range) {
          at = node.range[0];
          return visit.BREAK;
        }
        return undefined;
      },
    });
    const { line, col } = lc.linePos(at);
    throw new ConfigError([
      { file, line, col, path: [], message: `YAML: aliases expand to more than ${MAX_ALIAS_EXPANSIONS} nodes (an alias bomb?); write the values out instead` },
    ]);
  }
  return { doc, lc, data };
}
