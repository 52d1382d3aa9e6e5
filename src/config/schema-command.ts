import { z } from 'zod';
import type { AnySourcePlugin } from '../core/source.js';
import { OkrFile, okrFileSchema } from './okr-schema.js';

/** JSON Schema of the OKR file as written by users (defaults are optional), for editors. */
export function okrJsonSchema(sources?: readonly AnySourcePlugin[]): Record<string, unknown> {
  const schema = z.toJSONSchema(sources ? okrFileSchema(sources) : OkrFile, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://okr-metrics.dev/schema/okr-v1.json',
    title: 'okr-metrics OKR file (okr/v1)',
    ...schema,
  };
}
