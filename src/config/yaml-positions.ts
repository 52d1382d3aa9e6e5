/** Maps a path into a parsed YAML document back to `line:col`, for error messages. */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export interface Position {
  line: number;
  col: number;
}

/**
 * Position of the node at `path`. With `atKey`, the position of the last segment's key
 * (for "unknown key" errors). A path that leaves the document (a missing field) points at
 * the deepest node that exists: the object the field is missing from.
 */
export function positionOf(doc: Document, lc: LineCounter, path: ReadonlyArray<PropertyKey>, atKey = false): Position {
  let node: Node | null | undefined = doc.contents;
  let offset = node?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const key = pair.key as Node;
      if (last && atKey) {
        offset = key.range?.[0] ?? offset;
        break;
      }
      node = pair.value as Node | null;
      // `key:` with no value has no node; point at the key.
      offset = node?.range?.[0] ?? key.range?.[0] ?? offset;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      node = item;
      offset = item.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  const { line, col } = lc.linePos(offset);
  return { line, col };
}
