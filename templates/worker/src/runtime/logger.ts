import { type Logger, pino } from 'pino';

export type { Logger };

const sinks = new Set<(line: string) => void>();

/** Also hands every log line to `sink` (the fluent integration ships them); returns the undo. */
export function addLogSink(sink: (line: string) => void): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

/** JSON lines on stdout, for fluentd and `kubectl logs` alike, and to any added sink. */
export function createLogger(name: string, level: string): Logger {
  const tee = {
    write(line: string) {
      for (const sink of sinks) sink(line);
    },
  };
  return pino(
    { name, level, base: { worker: name, pid: process.pid } },
    pino.multistream([
      { level: level as pino.Level, stream: process.stdout },
      { level: level as pino.Level, stream: tee },
    ]),
  );
}
