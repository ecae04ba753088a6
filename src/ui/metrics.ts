// A worker's /metrics (templates/worker/src/runtime/metrics.ts) summed up for the page: tasks per
// second by state, between the last two reads, and run-time percentiles from its histogram.
import { EnvironmentError } from '../errors.ts';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of Prometheus' text format; comments and malformed lines are skipped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', raw = ''] of labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = raw.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
    }
    samples.push({ name, labels, value: Number(value) });
  }
  return samples;
}

/** A worker's metric names start with its own prefix; these are the ends the page reads. */
const TASKS = '_worker_tasks_count_total';
const RUNTIME_BUCKET = '_tasks_runtime_seconds_bucket';
const OLDEST_AGE = '_queue_oldest_message_age_seconds';

export interface Read {
  at: number;
  samples: Sample[];
}

export interface MetricsSummary {
  url: string;
  /** Tasks per second by state (started, succeeded, failed…), between the last two reads; none after the first. */
  tasksPerSecond?: Record<string, number>;
  /** Task counts by state since the worker started. */
  tasks: Record<string, number>;
  /** Run-time percentiles in seconds, since the worker started (upper bound of the bucket it falls in). */
  runtime: { p50?: number; p90?: number; p99?: number; count: number };
  /** The worker's own gauge: age of the oldest message of its latest receive, per queue. */
  oldestMessageAgeSeconds: Record<string, number>;
}

export function summarize(url: string, latest: Read, previous?: Read): MetricsSummary {
  const tasks = sumBy(latest.samples, TASKS, 'state');
  const summary: MetricsSummary = {
    url,
    tasks,
    runtime: percentiles(latest.samples),
    oldestMessageAgeSeconds: Object.fromEntries(
      latest.samples
        .filter(({ name }) => name.endsWith(OLDEST_AGE))
        .map(({ labels, value }) => [labels.queue ?? '', value]),
    ),
  };
  if (previous && latest.at > previous.at) {
    const before = sumBy(previous.samples, TASKS, 'state');
    const seconds = (latest.at - previous.at) / 1000;
    // A restarted worker counts from 0 again: no negative rate.
    summary.tasksPerSecond = Object.fromEntries(
      Object.entries(tasks).map(([state, count]) => [state, Math.max(0, count - (before[state] ?? 0)) / seconds]),
    );
  }
  return summary;
}

function sumBy(samples: readonly Sample[], suffix: string, label: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const { name, labels, value } of samples) {
    if (!name.endsWith(suffix)) continue;
    const key = labels[label] ?? '';
    sums[key] = (sums[key] ?? 0) + value;
  }
  return sums;
}

/** From the cumulative buckets of every task's histogram, added up by bound. */
function percentiles(samples: readonly Sample[]): MetricsSummary['runtime'] {
  const byBound = new Map<number, number>();
  for (const { name, labels, value } of samples) {
    if (!name.endsWith(RUNTIME_BUCKET)) continue;
    const bound = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + value);
  }
  const buckets = [...byBound].sort(([a], [b]) => a - b);
  const count = buckets.at(-1)?.[1] ?? 0;
  if (count === 0) return { count };
  const at = (quantile: number) => buckets.find(([, cumulative]) => cumulative >= quantile * count)?.[0];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), count };
}

/** Reads one /metrics; an unreachable worker is an EnvironmentError saying so. */
export async function readMetrics(url: string, signal?: AbortSignal): Promise<Read> {
  const timeout = AbortSignal.timeout(5000);
  try {
    const response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    if (!response.ok) throw new EnvironmentError(`${url} answered ${response.status}`);
    return { at: Date.now(), samples: parseMetrics(await response.text()) };
  } catch (error) {
    if (error instanceof EnvironmentError) throw error;
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new EnvironmentError(`no worker's metrics at ${url} (${cause})`);
  }
}
