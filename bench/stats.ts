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

/** Resident set size in MB of a process and all its descendants, from /proc (Linux). */
export async function treeRssMb(pid: number): Promise<number> {
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
  const sizes = await Promise.all(tree.map((each) => rssMb(each).catch(() => 0)));
  return sizes.reduce((sum, size) => sum + size, 0);
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
