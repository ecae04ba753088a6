// Small statistics for the benchmarks: medians of alternated runs, percentiles, wall time.
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** Wall time in ms of a command run to its end, output discarded; throws if it fails. */
export function wallTime(command: string, args: readonly string[], cwd?: string): number {
  const start = performance.now();
  const result = spawnSync(command, args, { cwd, stdio: 'ignore' });
  const elapsed = performance.now() - start;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
  return elapsed;
}

/**
 * Runs each contender `runs` times, alternating (a b c a b c …), so the machine's drift hits them
 * all alike; returns each one's median in ms.
 */
export function alternate(contenders: Record<string, (run: number) => number>, runs: number): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  for (const measure of Object.values(contenders)) measure(runs); // one warm-up each (disk cache)
  for (let run = 0; run < runs; run++) {
    for (const [name, measure] of Object.entries(contenders)) times[name]?.push(measure(run));
  }
  return Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
}

/** Resident set size of a process in MB, from /proc (Linux). */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? Number.NaN) / 1024;
}

export const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/** CPU time (user + system, all threads) a process has used so far, in seconds, from /proc (Linux). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // pid (comm) state …: utime and stime are fields 14 and 15, counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Linux's USER_HZ: /proc counts CPU time in these ticks. */
const CLOCK_TICKS = 100;

/** A process and all its descendants, from /proc (Linux). */
export async function processTree(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const tree = [pid];
  for (let index = 0; index < tree.length; index++) {
    for (const [child, parent] of parents) if (parent === tree[index]) tree.push(child);
  }
  return tree;
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/**
 * The peak RSS in MB of a process and all its descendants, cheap enough to call every few ms: the
 * tree is looked up in /proc (every process's stat) once a second, and only its members' RSS read
 * at each call. Walking all of /proc at each call took the bench's driver half a core.
 */
export function treeRssPeak(pid: number): () => Promise<number> {
  let tree: number[] = [];
  let listedAt = Number.NEGATIVE_INFINITY;
  let peak = 0;
  return async () => {
    if (performance.now() - listedAt > 1000) {
      tree = await processTree(pid);
      listedAt = performance.now();
    }
    peak = Math.max(peak, sum(await Promise.all(tree.map((each) => rssMb(each).catch(() => 0)))));
    return peak;
  };
}

/** CPU seconds a process and its living descendants have used so far. */
export async function treeCpuSeconds(pid: number): Promise<number> {
  return sum(await Promise.all((await processTree(pid)).map((each) => cpuSeconds(each).catch(() => 0))));
}

/**
 * CPU seconds so far of a process tree's threads, by kind: Node's main threads, V8's helper threads
 * (garbage collection and compilation), worker threads (the worker's lease keeper) and the rest
 * (libuv's pool, a Python process's own threads). A thread that ended is no longer counted.
 */
export async function treeThreadCpuSeconds(pid: number | undefined): Promise<Record<ThreadKind, number>> {
  const kinds: Record<ThreadKind, number> = { main: 0, v8Helpers: 0, workerThreads: 0, other: 0 };
  for (const each of pid ? await processTree(pid) : []) {
    for (const thread of await readdir(`/proc/${each}/task`).catch(() => [])) {
      const stat = await readFile(`/proc/${each}/task/${thread}/stat`, 'utf8').catch(() => '');
      if (!stat) continue;
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      kinds[THREAD_KINDS[name] ?? 'other'] += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    }
  }
  return kinds;
}

export type ThreadKind = 'main' | 'v8Helpers' | 'workerThreads' | 'other';
/** The names Node gives its threads (Linux's comm). */
const THREAD_KINDS: Record<string, ThreadKind> = {
  MainThread: 'main',
  V8Worker: 'v8Helpers',
  WorkerThread: 'workerThreads',
};

/** CPU seconds the whole machine has been busy so far, every core summed (all but idle, I/O wait and steal). */
export async function machineBusySeconds(): Promise<number> {
  const [, ...ticks] = (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.trim().split(/\s+/) ?? [];
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is within user)
  const [user, nice, system, , , irq, softirq] = ticks.map(Number);
  return sum([user, nice, system, irq, softirq].map((each) => each ?? 0)) / CLOCK_TICKS;
}

/** CPU seconds this process (the bench's driver) has used so far. */
export function cpuOfThisProcess(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * A draining queue's steady state: from the moment a tenth of its `total` messages are gone to the
 * queue empty, so that a consumer's start (queues resolved, threads started, code warmed) is not
 * counted per message. `clocks` reads the CPU counters to difference (seconds each); they are read
 * at once too, so a run too quick to be seen a tenth gone is measured from its start.
 */
export async function steadyState<Name extends string>(total: number, clocks: () => Promise<Record<Name, number>>) {
  let from = { at: performance.now(), left: total, cpu: await clocks() };
  let seen = false;
  return {
    /** Called with the messages left at each look at the queue. */
    async saw(left: number) {
      if (seen || left > 0.9 * total) return;
      seen = true;
      from = { at: performance.now(), left, cpu: await clocks() };
    },
    /** The queue is empty: messages ÷ seconds, and each clock's CPU seconds and cores over the window. */
    async end() {
      const seconds = (performance.now() - from.at) / 1000;
      const now = await clocks();
      const cpuSeconds = Object.fromEntries(
        Object.entries<number>(now).map(([name, value]) => [name, value - (from.cpu[name as Name] ?? 0)]),
      ) as Record<Name, number>;
      const cores = Object.fromEntries(
        Object.entries<number>(cpuSeconds).map(([name, value]) => [name, round(value / seconds)]),
      ) as Record<Name, number>;
      return { messages: from.left, seconds, perSecond: round(from.left / seconds, 0), cpuSeconds, cores };
    },
  };
}

/**
 * Runs the bench's sections one by one: one that fails is logged and recorded in `failed` with its
 * reason, and gives undefined, so the others' results are still written.
 */
export function sections(log: (line: string) => void = console.error) {
  const failed: Record<string, string> = {};
  async function section<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
    console.log(`${name}…`);
    try {
      return await run();
    } catch (error) {
      failed[name] = String((error as Error)?.message ?? error).split('\n')[0] ?? '';
      log(`${name} failed: ${failed[name]}; the other sections go on`);
      return undefined;
    }
  }
  return { section, failed };
}
