// The Spec: every answer needed to generate a worker, validated. Rules come from the worker's own
// runtime (templates/worker/src/runtime/naming.ts), so the CLI and the worker agree on names.
import { z } from 'zod';
import {
  envNameSchema,
  longestQueueName,
  queueNameSchema,
  ratelimitNameSchema,
  SQS_NAME_MAX,
  taskNameSchema,
  userNameSchema,
  workerNameSchema,
} from '../templates/worker/src/runtime/naming.ts';
import { UserError } from './errors.ts';
import { INTEGRATION_NAMES } from './integrations/index.ts';
import { PACKAGE_MANAGERS } from './package-manager.ts';

export const queueSpecSchema = z.object({
  queue: queueNameSchema,
  task: taskNameSchema,
  ratelimit: ratelimitNameSchema.optional(),
});
export type QueueSpec = z.output<typeof queueSpecSchema>;

/**
 * What a description may not contain: control characters (C0 with tab and newline, DEL, C1), line
 * and paragraph separators, and the bidirectional overrides that reorder how text is shown. It is
 * printed and written into package.json and the README, where these would break the line or drive
 * the terminal.
 */
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** What `--deploy` renders: deploy/k8s/ (src/deploy.ts), or nothing. */
export const DEPLOY_TARGETS = ['k8s', 'none'] as const;

export const specSchema = z.object({
  name: workerNameSchema,
  description: z
    .string()
    .max(500, { message: 'a description has at most 500 characters' })
    .refine((text) => !UNPRINTABLE.test(text), {
      message:
        'a description is one line of printable text, without control characters (newline, tab, escape sequences, C1 codes), line separators or bidirectional overrides; write it on one line with spaces',
    }),
  queues: z.array(queueSpecSchema).min(1, { message: 'a worker needs at least one queue' }),
  env: envNameSchema,
  user: userNameSchema,
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'an AWS region looks like "us-west-1"' }),
  packageManager: z.enum(PACKAGE_MANAGERS, { message: `one of ${PACKAGE_MANAGERS.join(', ')}` }),
  integrations: z.array(z.enum(INTEGRATION_NAMES, { message: `one of ${INTEGRATION_NAMES.join(', ')}` })).default([]),
  /** The npm registry the worker installs from (its .npmrc), when it is not the public one. */
  registry: z
    .url({ protocol: /^https?$/, message: 'an npm registry is an http(s) URL, such as https://npm.example.com/' })
    .optional(),
  /** Absent in the answers of workers made before it was asked: they get deploy/k8s/ too (an upgrade adds it). */
  deploy: z.enum(DEPLOY_TARGETS, { message: `one of ${DEPLOY_TARGETS.join(', ')}` }).default('k8s'),
});
export type Spec = z.output<typeof specSchema>;

/**
 * `queue[:task[:ratelimit]]`, as --queue and the queues prompt take it. `flag` is what errors name:
 * the flag it came from, or nothing when it was typed at a prompt.
 */
export function parseQueueSpec(text: string, flag?: string): QueueSpec {
  const [queue = '', task, ratelimit, ...rest] = text.trim().split(':');
  if (rest.length > 0) {
    throw new UserError(`${labelled(flag)}${quoted(text)} has too many parts; the form is queue[:task[:ratelimit]]`);
  }
  return queueSpecOf(queue, task, ratelimit, { queue: flag, task: flag, ratelimit: flag });
}

/** What an error about each part of a queue names (a flag), when anything. */
export interface QueuePartLabels {
  queue?: string | undefined;
  task?: string | undefined;
  ratelimit?: string | undefined;
}

/** A queue, its task (default: the queue's last word, `emails-send` → `send`) and its ratelimit. */
export function queueSpecOf(queue: string, task?: string, ratelimit?: string, labels: QueuePartLabels = {}): QueueSpec {
  // Each part on its own, so that an error says which rule and which value, not a path into an object.
  return {
    queue: checked(queueNameSchema, queue, labels.queue),
    task: checked(taskNameSchema, task || defaultTaskName(queue), labels.task),
    ...(ratelimit ? { ratelimit: checked(ratelimitNameSchema, ratelimit, labels.ratelimit) } : {}),
  };
}

function defaultTaskName(queue: string): string {
  const words = queue
    .replace(/\.fifo$/, '')
    .split(/[-_]/)
    .filter(Boolean);
  const last = words.at(-1) ?? queue;
  return /^[A-Za-z_]/.test(last) ? last : `task_${last}`;
}

/**
 * Parses with a schema; failures become a UserError with the rule and the value, after `what` (the
 * flag, or nothing for an answer typed at a prompt) and the path of a nested field.
 */
export function checked<T>(schema: z.ZodType<T>, value: unknown, what?: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  const got = ` (got ${quoted(issue?.path.length ? valueAt(value, issue.path) : value)})`;
  throw new UserError(`${labelled(what)}${field}${issue?.message ?? 'invalid'}${got}`);
}

/** `--flag: ` before a message, or nothing. */
function labelled(what: string | undefined): string {
  return what ? `${what}: ` : '';
}

/**
 * A value as JSON, safe to print: every character a terminal would act on (control characters,
 * C1 codes such as CSI, line separators, bidirectional overrides) is shown as its \u escape.
 */
export function quoted(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.replace(
    new RegExp(UNPRINTABLE.source, 'gu'),
    (char) => `\\u${char.codePointAt(0)?.toString(16).padStart(4, '0')}`,
  );
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key], value);
}

/**
 * The rules that span several answers: duplicate queues and tasks, and the longest SQS name. `flag`
 * is the flag the queues came from (errors name it and show the fix in its syntax), or nothing for
 * queues typed at a prompt.
 */
export function crossCheck(spec: Spec, flag?: string): void {
  const prefix = labelled(flag);
  const seen = new Set<string>();
  for (const { queue } of spec.queues) {
    if (seen.has(queue)) throw new UserError(`${prefix}"${queue}" is given twice; each queue appears once`);
    seen.add(queue);
    const longest = longestQueueName(queue, spec);
    if (longest.length > SQS_NAME_MAX) {
      throw new UserError(
        `${prefix}"${queue}" makes the dead-letter queue "${longest}" ${longest.length} characters long; SQS allows ${SQS_NAME_MAX}. Shorten the queue name by ${longest.length - SQS_NAME_MAX} (or --user / --env)`,
      );
    }
  }
  const queueOf = new Map<string, string>();
  for (const { queue, task } of spec.queues) {
    const first = queueOf.get(task);
    if (first !== undefined) {
      throw new UserError(
        `${prefix}queues "${first}" and "${queue}" both run task "${task}", but a task runs from one queue only; give "${queue}" a task of its own: ${flag ? `${flag} ` : ''}${queue}:<task>`,
      );
    }
    queueOf.set(task, queue);
  }
  const owners = new Map<string, string>();
  for (const { task } of spec.queues) {
    const identifier = taskIdentifier(task);
    const owner = owners.get(identifier);
    if (owner && owner !== task) {
      throw new UserError(
        `${prefix}tasks "${owner}" and "${task}" would share the TypeScript name ${identifier}; rename one`,
      );
    }
    owners.set(identifier, task);
  }
}

/**
 * A ratelimit name does nothing without the ratelimit integration: refused, never ignored. `flags`:
 * the fix is said as flags; otherwise as the integrations prompt's choice.
 */
export function checkRatelimits(spec: Pick<Spec, 'queues' | 'integrations'>, flags = true): void {
  if (spec.integrations.includes('ratelimit')) return;
  const limited = spec.queues.find(({ ratelimit }) => ratelimit);
  if (!limited) return;
  const { queue, task, ratelimit } = limited;
  throw new UserError(
    flags
      ? `--queue ${queue}:${task}:${ratelimit} names ratelimit "${ratelimit}", but the ratelimit integration is off, so nothing would enforce it: add --with ratelimit, or drop the name (--queue ${queue}:${task})`
      : `queue "${queue}" names ratelimit "${ratelimit}", which needs the ratelimit integration: select ratelimit, or press Ctrl-C and leave the name out`,
  );
}

export function validateSpec(input: unknown): Spec {
  const spec = checked(specSchema, input, 'invalid answers');
  crossCheck(spec);
  checkRatelimits(spec);
  return spec;
}

const RESERVED = new Set(
  'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await tasks queues'.split(
    ' ',
  ),
);

/** `app.tasks.send_email` → `sendEmail`-style camelCase of the whole name: `appTasksSendEmail`. */
export function taskIdentifier(task: string): string {
  const camel = task
    .split(/[._]+/)
    .filter(Boolean)
    .map((word, index) => (index === 0 ? word : word[0]?.toUpperCase() + word.slice(1)))
    .join('');
  return RESERVED.has(camel) ? `${camel}Task` : camel;
}
