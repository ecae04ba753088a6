import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CREDENTIAL_ERRORS, QueueNotFoundError } from './errors.ts';
import { networkCode } from './startup.ts';

export interface SqsSettings {
  region: string;
  /** A local emulator such as fauxqs; unset means real AWS. */
  endpoint?: string | undefined;
  /** A profile of ~/.aws/config, instead of AWS_PROFILE. */
  profile?: string | undefined;
}

/**
 * AWS client settings for real AWS (default credential chain) or for a local emulator, which
 * needs no account: any credentials do, so placeholders are used when none are set.
 */
export function awsClientConfig({ region, endpoint, profile }: SqsSettings) {
  const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || profile);
  return {
    region,
    ...(profile ? { profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(endpoint && !hasCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  };
}

/**
 * Every request has a deadline, so a silent SQS (a brownout, a middlebox that dropped the connection)
 * fails like a refused one instead of hanging: 3 s to connect, 10 s to answer (the long poll sets its
 * own, longer deadline per call).
 */
export const SQS_TIMEOUTS = { connectionTimeout: 3000, requestTimeout: 10_000, throwOnRequestTimeout: true };

/**
 * `longPolls`: receives the client holds open at once. It gets that many sockets beyond the SDK's
 * 50, so deletes, sends and lease changes never queue behind long polls (at 500 slots and more,
 * or many queues, they did: the worker stalled until the polls ended).
 */
export function createSqsClient(settings: SqsSettings, longPolls = 0): SQSClient {
  const agent = { maxSockets: 50 + longPolls };
  const requestHandler = longPolls > 0 ? { ...SQS_TIMEOUTS, httpAgent: agent, httpsAgent: agent } : SQS_TIMEOUTS;
  return new SQSClient({ ...awsClientConfig(settings), requestHandler });
}

/** Whether SQS said the queue does not exist (its two spellings, JSON and Query protocols). */
export function isQueueMissing(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}

/** The URL of a queue by its full name; a QueueNotFoundError naming it when it does not exist. */
export async function resolveQueueUrl(sqs: SQSClient, fullName: string): Promise<string> {
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: fullName }));
    if (!QueueUrl) throw new Error('SQS returned no URL');
    return QueueUrl;
  } catch (error) {
    if (isQueueMissing(error)) throw new QueueNotFoundError(fullName);
    throw error;
  }
}

/** The URL of a queue by its full name; undefined when it does not exist. */
export async function findQueueUrl(sqs: SQSClient, name: string): Promise<string | undefined> {
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    if (isQueueMissing(error)) return undefined;
    throw error;
  }
}

/**
 * Whether `error` is SQS's passing fault, which the same call may not meet again: an error SQS
 * answered (the SDK's service exceptions carry `$metadata`), the network (a Node system error), a
 * deadline, or credentials being refreshed. Anything else — a bug, a message JSON cannot encode — fails
 * the same way every time, so trying again only delays saying why.
 */
export function isSqsFault(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, syscall } = error as { name?: string; syscall?: unknown };
  if ('$metadata' in error && '$fault' in error) return true;
  if (name === 'TimeoutError' || name === 'AbortError' || CREDENTIAL_ERRORS.has(name ?? '')) return true;
  return typeof syscall === 'string' || networkCode(error) !== undefined;
}

/** The AWS SDK's names for "over the request rate". */
const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** Whether SQS answered that it is busy — throttling, or its own 5xx fault — rather than no or never. */
export function isSqsBusy(error: unknown): boolean {
  const {
    name = '',
    $fault,
    $metadata,
  } = (error ?? {}) as {
    name?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = $metadata?.httpStatusCode ?? 0;
  return THROTTLING_ERRORS.has(name) || status === 429 || $fault === 'server' || status >= 500;
}
