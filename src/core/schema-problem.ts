/**
 * Where a document first departs from its zod schema, in words fit for a log line: the path of
 * the first issues and what was expected there. zod's messages name the expected and received
 * types, never the input's values, so an API body's or state file's contents (tokens, names)
 * stay out of logs.
 */
import type { z } from 'zod';

/** e.g. `values[3].build_number: Invalid input: expected number, received undefined`. */
export function schemaProblem(error: z.ZodError, max = 3): string {
  const shown = error.issues.slice(0, max).map((i) => {
    const path = i.path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
    // zod's messages name the expected and received types, never the input's values.
    return `${path || '(the whole document)'}: ${i.message}`;
  });
  const more = error.issues.length - shown.length;
  return `${shown.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`;
}
