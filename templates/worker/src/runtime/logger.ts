import { type Logger, pino } from 'pino';
import { redactUrls } from './redact.ts';

export type { Logger };

/**
 * The longest string a log line carries: a 200 KB task name or error message (from a message anyone
 * can send) must not make a 600 KB line that log shippers truncate or drop.
 */
export const MAX_LOG_STRING = 2048;

const sinks = new Set<(line: string) => void>();

/** Also hands every log line to `sink` (the fluent integration ships them); returns the undo. */
export function addLogSink(sink: (line: string) => void): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

/** JSON lines on stdout, for fluentd and `kubectl logs` alike, and to any added sink. */
export function createLogger(name: string, level: string): Logger {
  // Every line passes here, whatever put its strings in (a child's bindings, err, msg): one place to bound them.
  const out = {
    write(line: string) {
      const safe = redactUrls(bounded(line));
      process.stdout.write(safe);
      for (const sink of sinks) sink(safe);
    },
  };
  return pino({ name, level, base: { worker: name, pid: process.pid } }, out);
}

/** The line with each string longer than MAX_LOG_STRING cut and marked. */
function bounded(line: string): string {
  // A string longer than the limit needs a line longer than it: most lines are returned as they are.
  if (line.length <= MAX_LOG_STRING) return line;
  return `${JSON.stringify(JSON.parse(line), (_key, value) => (typeof value === 'string' ? cut(value) : value))}\n`;
}

function cut(text: string): string {
  if (text.length <= MAX_LOG_STRING) return text;
  return `${text.slice(0, MAX_LOG_STRING)}… [${text.length - MAX_LOG_STRING} more characters]`;
}
