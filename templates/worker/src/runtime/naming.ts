// Naming rules shared by the worker and the create-be-worker CLI: one definition, so a name the
// CLI accepts is a name the worker can run with.
import { userInfo } from 'node:os';
import { z } from 'zod';

/** SQS allows 1–80 characters of A-Za-z0-9, '-' and '_', FIFO names ending in `.fifo`. */
export const SQS_NAME_MAX = 80;
const SQS_NAME = /^[A-Za-z0-9_-]+(\.fifo)?$/;

export interface NamingContext {
  env: string;
  user: string;
}

/** `<env>-<queue>` in shared environments, `<user>-local-<queue>` on a developer's machine. */
export function fullQueueName(queue: string, { env, user }: NamingContext): string {
  return env === 'local' ? `${user}-${env}-${queue}` : `${env}-${queue}`;
}

/** The dead-letter queue of a queue: `err-<full name>` (a FIFO queue keeps its `.fifo`). */
export function deadLetterQueueName(fullName: string): string {
  return `err-${fullName}`;
}

/** The longest name a queue gets anywhere: `err-<user>-<env>-<queue>`. */
export function longestQueueName(queue: string, { env, user }: NamingContext): string {
  return deadLetterQueueName(`${user}-${env}-${queue}`);
}

export function isFifo(queue: string): boolean {
  return queue.endsWith('.fifo');
}

/** The login name, lower-cased and made SQS-safe: the `<user>` of local queue names. */
export function defaultUser(login: string = safeLogin()): string {
  const user = login
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 32);
  return user || 'dev';
}

function safeLogin(): string {
  try {
    return process.env.USER || process.env.LOGNAME || userInfo().username;
  } catch {
    return 'dev';
  }
}

/** snake_case of the worker name: the prefix of its metric names. */
export function metricPrefix(workerName: string): string {
  return workerName.replace(/[^A-Za-z0-9]+/g, '_').toLowerCase();
}

/** A name rule: non-empty, at most `max` characters, matching `pattern`; failures state the rule. */
function nameSchema(what: string, max: number, pattern: RegExp, rule: string) {
  return z
    .string()
    .min(1, { message: `the ${what} is empty` })
    .max(max, { message: `the ${what} is too long: at most ${max} characters` })
    .regex(pattern, { message: rule });
}

export const workerNameSchema = nameSchema(
  'worker name',
  64,
  /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/,
  'a worker name is lower-case letters, digits and single hyphens, starting with a letter (npm- and SQS-safe), e.g. "image-resizer"',
);

export const queueNameSchema = nameSchema(
  'SQS queue name',
  SQS_NAME_MAX,
  SQS_NAME,
  'an SQS queue name is letters, digits, "-" and "_" only (FIFO queues end in ".fifo")',
);

export const taskNameSchema = nameSchema(
  'task name',
  200,
  /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/,
  'a task name is a Celery-style identifier: dot-separated words of letters, digits and "_", e.g. "add" or "app.tasks.add"',
);

export const ratelimitNameSchema = nameSchema(
  'ratelimit name',
  128,
  /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/,
  'a ratelimit name is letters, digits, "_", ".", ":" and "-", starting with a letter or digit',
);

export const envNameSchema = nameSchema(
  'environment name',
  32,
  /^[a-z][a-z0-9-]*$/,
  'an environment name is lower-case letters, digits and "-", starting with a letter, e.g. "local", "dev", "prod"',
);

export const userNameSchema = nameSchema(
  'user name',
  32,
  /^[a-z0-9][a-z0-9_-]*$/,
  'a user name is lower-case letters, digits, "-" and "_" (it prefixes local queue names)',
);
