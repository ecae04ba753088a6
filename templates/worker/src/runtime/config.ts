// The environment variables every worker reads (DESIGN §4), parsed once at start-up.
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { defaultUser, envNameSchema, userNameSchema } from './naming.ts';

const port = z.coerce.number().int().min(0).max(65535);

export function coreEnvSchema({ region }: { region: string }) {
  return {
    APP_ENV: envNameSchema.default('local'),
    BE_WORKER_USER: userNameSchema.default(defaultUser()),
    AWS_REGION: z.string().min(1).default(region),
    SQS_ENDPOINT: z.url().optional(),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(10),
    WORKER_PROCESSES: z.coerce.number().int().min(1).max(64).default(1),
    /** The address the HTTP server binds: all interfaces by default, as probes and scrapers in containers need. */
    HTTP_HOST: z
      .string()
      .regex(/^\S+$/, { message: 'a host name or IP address to bind, e.g. 0.0.0.0 (all) or 127.0.0.1' })
      .default('0.0.0.0'),
    HTTP_PORT: port.default(8080),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(30),
    /** How often the queue depths are read from SQS into /metrics; 0 turns it off. */
    QUEUE_DEPTH_INTERVAL_SECONDS: z.coerce.number().min(0).max(3600).default(60),
  };
}

export type CoreConfig = z.output<z.ZodObject<ReturnType<typeof coreEnvSchema>>>;

/**
 * Parses the environment, or throws one ConfigError naming every bad or missing variable. A value is
 * never printed: variables carry secrets (a DATABASE_URL from Vault, a SENTRY_DSN's key), so the
 * message says which variable, what is wrong with it and whether it is set.
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
    const set = present[name] !== undefined;
    return `  ${name}: ${issue.message} (${set ? 'it is set; its value is not shown' : 'it is not set'})`;
  });
  throw new ConfigError(`invalid configuration, fix these environment variables:\n${problems.join('\n')}`);
}
