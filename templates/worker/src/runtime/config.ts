// The environment variables every worker reads (DESIGN §4), parsed once at start-up.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseEnv as parseEnvFile } from 'node:util';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { defaultUser, envNameSchema, userNameSchema } from './naming.ts';
import { DEFAULT_SHUTDOWN_GRACE_SECONDS, DEFAULT_WAIT_SECONDS } from './timing.ts';

const MIN_PROCESSES = 1;
const MAX_PROCESSES = 64;

/** A whole number in a range; the message states the range, since the value is never shown. */
function wholeNumber(min: number, max: number) {
  const error = `a whole number from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** WORKER_PROCESSES: a number, or auto (the error says both). */
function processCount() {
  const error = `a whole number from ${MIN_PROCESSES} to ${MAX_PROCESSES}, or auto (the CPUs this container may use)`;
  return z.coerce.number({ error }).int({ error }).min(MIN_PROCESSES, { error }).max(MAX_PROCESSES, { error });
}

/**
 * An http:// or https:// URL. `z.url()` alone takes `localhost:4566` as a URL of scheme
 * "localhost:", which then fails far from its variable.
 */
export function httpUrl(example: string) {
  return z.url({ protocol: /^https?$/, error: `an http:// or https:// URL, e.g. ${example}` });
}

export function coreEnvSchema({ region }: { region: string }) {
  return {
    APP_ENV: envNameSchema.default('local'),
    BE_WORKER_USER: userNameSchema.default(defaultUser()),
    AWS_REGION: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, { error: 'an AWS region, e.g. us-west-1' })
      .default(region),
    SQS_ENDPOINT: httpUrl('http://localhost:4566').optional(),
    WORKER_CONCURRENCY: wholeNumber(1, 1000).default(10),
    /** `auto`: one process per CPU this container may use (availableCpus); a number after parsing. */
    /** `auto`: one process per CPU this container may use (availableCpus); a number after parsing. */
    WORKER_PROCESSES: z.preprocess((value) => (value === 'auto' ? availableCpus() : value), processCount()).default(1),
    /** The address the HTTP server binds: all interfaces by default, as probes and scrapers in containers need. */
    HTTP_HOST: z
      .string()
      .regex(/^\S+$/, { message: 'a host name or IP address to bind, e.g. 0.0.0.0 (all) or 127.0.0.1' })
      .default('0.0.0.0'),
    HTTP_PORT: wholeNumber(0, 65535).default(8080),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    SHUTDOWN_GRACE_SECONDS: z.coerce
      .number({ error: 'seconds, from 0 to 3600' })
      .min(0, { error: 'seconds, from 0 to 3600' })
      .max(3600, { error: 'seconds, from 0 to 3600' })
      .default(DEFAULT_SHUTDOWN_GRACE_SECONDS),
    /**
     * The long poll's wait. A stop lets an open poll finish, so it takes up to this; no more than the
     * default, which the stop's deadline is sized for. `npm run dev` sets 1, to restart in a second.
     */
    RECEIVE_WAIT_SECONDS: wholeNumber(1, DEFAULT_WAIT_SECONDS).default(DEFAULT_WAIT_SECONDS),
    /** An eta further away than this many days is refused: dead-lettered with EtaTooFarError. */
    ETA_HORIZON_DAYS: wholeNumber(1, 36_500).default(365),
    /** How often the queue depths are read from SQS into /metrics; 0 turns it off. */
    QUEUE_DEPTH_INTERVAL_SECONDS: z.coerce
      .number({ error: 'seconds, from 0 to 3600 (0: never)' })
      .min(0, { error: 'seconds, from 0 to 3600 (0: never)' })
      .max(3600, { error: 'seconds, from 0 to 3600 (0: never)' })
      .default(60),
  };
}

/** Where the CPU quota is read from: cgroup v2 first, then v1 (its two mount names). */
const CGROUP_V2_CPU_MAX = '/sys/fs/cgroup/cpu.max';
const CGROUP_V1_DIRS = ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'];

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The CPUs this container may use, for WORKER_PROCESSES=auto: its cgroup's CPU quota ÷ period,
 * rounded up (a Kubernetes CPU limit, `docker run --cpus`), and no more than the CPUs this process may
 * run on (os.availableParallelism(), which also sees a cpuset), which is the answer with no quota.
 * From 1 to 64. os.availableParallelism() alone sees the node's cores, not the pod's limit.
 */
export function availableCpus({
  readFile = readIfThere,
  parallelism = availableParallelism,
}: {
  readFile?: (path: string) => string | undefined;
  parallelism?: () => number;
} = {}): number {
  const cpus = Math.min(cgroupQuotaCpus(readFile) ?? Number.POSITIVE_INFINITY, parallelism());
  return Math.max(MIN_PROCESSES, Math.min(MAX_PROCESSES, Number.isFinite(cpus) ? cpus : MIN_PROCESSES));
}

/** quota ÷ period rounded up, or undefined when there is no quota (`max`, -1) or nothing readable. */
function cgroupQuotaCpus(readFile: (path: string) => string | undefined): number | undefined {
  const v2 = readFile(CGROUP_V2_CPU_MAX)?.trim().split(/\s+/);
  if (v2) return quotaCpus(v2[0], v2[1]);
  for (const dir of CGROUP_V1_DIRS) {
    const quota = readFile(`${dir}/cpu.cfs_quota_us`);
    if (quota !== undefined) return quotaCpus(quota.trim(), readFile(`${dir}/cpu.cfs_period_us`)?.trim());
  }
  return undefined;
}

function quotaCpus(quota: string | undefined, period: string | undefined): number | undefined {
  const [q, p] = [Number(quota), Number(period)];
  return q > 0 && p > 0 ? Math.ceil(q / p) : undefined;
}

export type CoreConfig = z.output<z.ZodObject<ReturnType<typeof coreEnvSchema>>>;

/**
 * Parses the environment, or throws one ConfigError naming every bad or missing variable, on one
 * line. A value is never printed: variables carry secrets (a DATABASE_URL from Vault, a SENTRY_DSN's
 * key), so the message says which variable, what it must be, and whether and where it is set.
 */
export function parseEnv<Schema extends z.ZodObject>(
  schema: Schema,
  env: Record<string, string | undefined>,
): z.output<Schema> {
  // An empty variable (`FOO=`) means unset, as most shells and compose files intend.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '');
    if (present[name] === undefined) return `${name}: ${issue.message} (it is not set)`;
    const where = settingOrigin(name, present) === 'the environment' ? '' : ` in ${settingOrigin(name, present)}`;
    return `${name}: ${issue.message} (it is set${where}; its value is not shown)`;
  });
  throw new ConfigError(`invalid configuration, fix these environment variables: ${problems.join('; ')}`);
}

/**
 * Where a variable's value comes from: an env file this process was started with
 * (`node --env-file-if-exists=.env`, as the npm scripts do), or the environment itself. Said at
 * start-up, and used to keep local settings (.env) out of shared environments.
 */
export function settingOrigin(name: string, env: Record<string, string | undefined> = process.env): string {
  if (env[name] === undefined) return 'the environment';
  for (const file of envFiles().reverse()) {
    if (file.values[name] === env[name]) return file.path;
  }
  return 'the environment';
}

/** The env files named by this process's `--env-file` and `--env-file-if-exists` flags, and their values. */
function envFiles(execArgv = process.execArgv): { path: string; values: Record<string, string> }[] {
  const files: { path: string; values: Record<string, string> }[] = [];
  execArgv.forEach((arg, index) => {
    const flag = /^--env-file(?:-if-exists)?(?:=(.*))?$/.exec(arg);
    const path = flag && (flag[1] ?? execArgv[index + 1]);
    if (!path) return;
    try {
      files.push({ path, values: parseEnvFile(readFileSync(path, 'utf8')) as Record<string, string> });
    } catch {
      // --env-file-if-exists and no such file: it set nothing.
    }
  });
  return files;
}
