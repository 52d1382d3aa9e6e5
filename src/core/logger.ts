/**
 * Structured JSON logs (pino). Every line passes through `redact()` before it is written,
 * so a secret that reaches a log field by any route (an error message, a URL) is scrubbed.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { redact } from './secrets.js';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Where lines go; default stderr so stdout stays clean for command output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const target = opts.destination ?? process.stderr;
  const scrubbing = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      target.write(redact(chunk.toString()));
      done();
    },
  });
  return pino(
    {
      level: opts.level ?? process.env.OKR_METRICS_LOG_LEVEL ?? 'info',
      base: { app: 'okr-metrics' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces for well-known credential fields.
      redact: { paths: ['*.authorization', '*.Authorization', '*.password', '*.token', 'headers.*'], censor: '[REDACTED]' },
    },
    scrubbing,
  );
}

/** A logger that drops everything (one-shot commands, tests that do not read logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
