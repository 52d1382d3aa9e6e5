/**
 * The shape of a JSON document, for contract tests that hold a fake server to a recorded real
 * answer: every key path (`values[].state.result.name`) with the JSON types seen there. A fake
 * that answers with a key the real API does not have (a `next` link on a list that never
 * carries one), or with another type (a number where the API sends a string), is caught
 * without comparing values.
 */

export type JsonShape = Map<string, Set<string>>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Key paths of `value` with their types; array items share the path `<array>[]`. `key` maps an
 * object key to the name it is compared under (e.g. every `customfield_NNNNN` to `customfield_*`,
 * or a record's ids to `*`).
 */
export function jsonShape(value: unknown, key: (k: string, path: string) => string = (k) => k): JsonShape {
  const out: JsonShape = new Map();
  const walk = (v: unknown, path: string) => {
    const types = out.get(path) ?? new Set<string>();
    types.add(typeOf(v));
    out.set(path, types);
    if (Array.isArray(v)) for (const item of v) walk(item, `${path}[]`);
    else if (v !== null && typeof v === 'object') for (const [k, child] of Object.entries(v)) walk(child, path ? `${path}.${key(k, path)}` : key(k, path));
  };
  walk(value, '');
  return out;
}

/**
 * What `actual` (a fake's answer) has that `recorded` (a real one) does not: unknown key paths,
 * and types the recording never shows at a path. `allowed` lists paths (and everything under
 * them) known to exist in the real API though this recording lacks them; each needs a reason
 * next to it in the test.
 */
export function shapeExtras(actual: unknown, recorded: unknown, allowed: string[] = [], key?: (k: string, path: string) => string): string[] {
  const a = jsonShape(actual, key);
  const r = jsonShape(recorded, key);
  const isAllowed = (path: string) => allowed.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[]`));
  const extras: string[] = [];
  for (const [path, types] of a) {
    if (isAllowed(path)) continue;
    const known = r.get(path);
    if (!known) extras.push(`${path || '(root)'}: not in the recording`);
    else for (const t of types) if (!known.has(t)) extras.push(`${path || '(root)'}: ${t}, the recording has ${[...known].join('/')}`);
  }
  return extras;
}
