/**
 * What a backfill run has finished, kept next to its output (`<out>/backfill-manifest.json`).
 * A rerun with the same inputs (fingerprint) skips a source whose OpenMetrics file is still
 * there, and keeps its blocks when they were made from that very file (same SHA-256).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonFileAtomic } from '../core/state-file.js';

export const MANIFEST_FILE = 'backfill-manifest.json';
const VERSION = 1;

export interface ChunkEntry {
  /** `YYYY-MM`. */
  name: string;
  /** The OpenMetrics file, relative to the output directory. */
  file: string;
  samples: number;
  bytes: number;
  sha256: string;
  /** Blocks promtool made from the file with this SHA-256 (directories under blocks/<source>/). */
  blocks?: { sha256: string; ulids: string[] };
}

export interface ManifestEntry {
  fingerprint: string;
  from_ms: number;
  to_ms: number;
  step_ms: number;
  samples: number;
  /** One per month with samples, oldest first. */
  chunks: ChunkEntry[];
}

export interface Manifest {
  version: number;
  sources: Record<string, ManifestEntry>;
}

export function loadManifest(outDir: string): Manifest {
  try {
    const m = JSON.parse(readFileSync(join(outDir, MANIFEST_FILE), 'utf8')) as Manifest;
    if (m.version === VERSION && m.sources && typeof m.sources === 'object') return m;
  } catch {
    /* absent or unreadable: start afresh, every source is redone */
  }
  return { version: VERSION, sources: {} };
}

export function saveManifest(outDir: string, m: Manifest): void {
  const sorted: Manifest = { version: m.version, sources: Object.fromEntries(Object.entries(m.sources).sort(([a], [b]) => (a < b ? -1 : 1))) };
  writeJsonFileAtomic(join(outDir, MANIFEST_FILE), sorted, 2);
}

/** Secrets never enter the fingerprint (it is a hash, but it is also written to disk). */
function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([k]) => !/token|password|secret/i.test(k) || k.endsWith('_file'))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, redact(x)]),
    );
  return v;
}

export function fingerprint(parts: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify(redact({ manifest: VERSION, ...parts })))
    .digest('hex');
}
