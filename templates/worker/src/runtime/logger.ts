import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON lines on stdout, for fluentd and `kubectl logs` alike. */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { worker: name, pid: process.pid } });
}
