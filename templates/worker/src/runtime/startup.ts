// Which SQS a process talks to and why, and start-up failures said as one sentence with the fix:
// what the entry points (main, npm run dev, npm run send) print instead of a stack trace.
import { type CoreConfig, settingOrigin } from './config.ts';
import { ConfigError, CREDENTIAL_ERRORS, QueueNotFoundError, ScheduleError, StartupError } from './errors.ts';
import { redactUrls } from './redact.ts';

/** The local SQS of `npm run dev` (and of `docker compose up`, seen from this machine). */
export const LOCAL_SQS_ENDPOINT = 'http://localhost:4566';

export interface SqsTarget {
  region: string;
  /** A local or other SQS; unset means AWS. */
  endpoint: string | undefined;
  /** How it was chosen, for the start-up log and the errors. */
  origin: string;
  /** APP_ENV. */
  env: string;
}

/**
 * The SQS this process uses. APP_ENV=local means the local SQS (`npm run dev`'s, or SQS_ENDPOINT);
 * any other env means AWS unless SQS_ENDPOINT is set in the environment itself. An SQS_ENDPOINT
 * from an env file (.env: local settings) never reaches a shared env: it is refused there.
 */
export function sqsTarget(
  config: Pick<CoreConfig, 'APP_ENV' | 'AWS_REGION' | 'SQS_ENDPOINT'>,
  env: Record<string, string | undefined> = process.env,
): SqsTarget {
  const base = { region: config.AWS_REGION, env: config.APP_ENV };
  if (config.SQS_ENDPOINT) {
    const from = settingOrigin('SQS_ENDPOINT', env);
    if (config.APP_ENV !== 'local' && from !== 'the environment') {
      throw new ConfigError(
        `SQS_ENDPOINT comes from ${from}, whose settings are for APP_ENV=local, but APP_ENV is ${config.APP_ENV}: remove it from ${from} to use AWS, or set SQS_ENDPOINT in the environment if ${config.APP_ENV} has an SQS of its own`,
      );
    }
    return { ...base, endpoint: config.SQS_ENDPOINT, origin: `SQS_ENDPOINT from ${from}` };
  }
  if (config.APP_ENV === 'local') {
    return { ...base, endpoint: LOCAL_SQS_ENDPOINT, origin: 'APP_ENV=local: the local SQS of npm run dev' };
  }
  return { ...base, endpoint: undefined, origin: `APP_ENV=${config.APP_ENV}: AWS, credentials from the default chain` };
}

/** For the start-up log: where the queues are, and why there (never the endpoint's credentials). */
export function describeSqsTarget({ endpoint, region, origin }: SqsTarget): string {
  return endpoint ? `SQS at ${redactUrls(endpoint)} (${origin})` : `SQS in AWS region ${region} (${origin})`;
}

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'AWS.SimpleQueueService.AccessDenied']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

const firstLine = (text: string) => text.split('\n')[0] ?? '';

/** An SQS failure as one sentence with the fix, or undefined if it is not one we know. */
export function explainSqsError(error: unknown, target: SqsTarget): string | undefined {
  if (error instanceof QueueNotFoundError) {
    const missing = `SQS queue "${error.queue}" does not exist`;
    if (target.env === 'local' && target.endpoint === LOCAL_SQS_ENDPOINT) {
      return `${missing} on the local SQS at ${target.endpoint}: \`npm run dev\` creates this worker's queues there; start it, or restart it if it runs`;
    }
    if (target.endpoint) {
      return `${missing} on ${target.endpoint} (${target.origin}): create it and its dead-letter queue with \`npm run be-worker -- provision --env ${target.env} --endpoint ${target.endpoint}\``;
    }
    return `${missing} in AWS region ${target.region}: create it and its dead-letter queue with \`npm run be-worker -- provision --env ${target.env}\` (if the name looks wrong, check APP_ENV and AWS_REGION)`;
  }
  const { name = '', message = '' } = (error ?? {}) as Error;
  if (CREDENTIAL_ERRORS.has(name)) {
    return `No usable AWS credentials for APP_ENV=${target.env} (${firstLine(message)}). Log in (aws sso login, or set AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run locally with APP_ENV=local (npm run dev)`;
  }
  if (ACCESS_DENIED.has(name)) {
    return `AWS denied this worker's credentials access to SQS in ${target.region} (${firstLine(message)}): grant them sqs:GetQueueUrl, GetQueueAttributes, ReceiveMessage, SendMessage, DeleteMessage and ChangeMessageVisibility on its queues`;
  }
  const code = networkCode(error);
  if (!code) return undefined;
  if (!target.endpoint) {
    return `Cannot reach SQS in AWS region ${target.region} (${code}): check AWS_REGION and this machine's network`;
  }
  if (target.env === 'local' && target.endpoint === LOCAL_SQS_ENDPOINT) {
    return `The local SQS at ${target.endpoint} is not running (${code}): start \`npm run dev\` (or \`docker compose up\`) in another terminal, then run this again`;
  }
  if (target.env === 'local') {
    return `No SQS answers at SQS_ENDPOINT ${target.endpoint} (${code}; ${target.origin}): start \`npm run dev\` in another terminal (it runs the local SQS there), or fix SQS_ENDPOINT`;
  }
  return `No SQS answers at SQS_ENDPOINT ${target.endpoint} (${code}; ${target.origin}): start that SQS, or fix or unset SQS_ENDPOINT`;
}

/** The network failure's code, also when the SDK wraps it or gave up waiting. */
export function networkCode(error: unknown): string | undefined {
  const { code, name, errors } = (error ?? {}) as { code?: string; name?: string; errors?: { code?: string }[] };
  if (code && NETWORK_CODES.has(code)) return code;
  const inner = errors?.find((each) => each.code && NETWORK_CODES.has(each.code))?.code;
  if (inner) return inner;
  return name === 'TimeoutError' ? 'no answer in time' : undefined;
}

/** The HTTP server could not listen: one sentence naming HTTP_PORT or HTTP_HOST. */
export function listenError(error: unknown, host: string, port: number): StartupError {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EADDRINUSE') {
    return new StartupError(
      `HTTP_PORT ${port} is in use by another process (another worker, or npm run dev?): stop it, or set HTTP_PORT to a free port`,
    );
  }
  if (code === 'EACCES') {
    return new StartupError(`HTTP_PORT ${port} needs privileges this process does not have: use a port above 1023`);
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new StartupError(
      `HTTP_HOST ${host} is not an address of this machine (${code}): use 0.0.0.0 (all interfaces) or 127.0.0.1`,
    );
  }
  return new StartupError(`the HTTP server cannot listen on ${host}:${port} (HTTP_HOST, HTTP_PORT): ${message}`);
}

/**
 * Any start-up failure as one line: ours and the known SQS ones with their fix, any other by its
 * message's first line and `unknownHint` (where its stack is).
 */
export function explainStartupError(error: unknown, target: SqsTarget | undefined, unknownHint = ''): string {
  // The sentence may name SQS_ENDPOINT, or the error a URL: never with its credentials.
  return redactUrls(explainUnredacted(error, target, unknownHint));
}

function explainUnredacted(error: unknown, target: SqsTarget | undefined, unknownHint: string): string {
  if (error instanceof ConfigError || error instanceof ScheduleError || error instanceof StartupError) {
    return error.message;
  }
  const known = target && explainSqsError(error, target);
  if (known) return known;
  return `${firstLine((error as Error)?.message ?? String(error))}${unknownHint}`;
}
