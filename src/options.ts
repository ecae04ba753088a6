// One declaration per answer drives its flag, its prompt, its default and its validation
// (DESIGN §3). `collect.ts` walks this table; nothing else knows the list of answers.
import { basename, resolve } from 'node:path';
import type { z } from 'zod';
import type * as Naming from '../templates/worker/src/runtime/naming.ts';
import { UserError } from './errors.ts';
import { INTEGRATION_NAMES, INTEGRATIONS } from './integrations/index.ts';
import { detectPackageManager, PACKAGE_MANAGERS } from './package-manager.ts';
import type * as Rules from './spec.ts';
import type { QueueSpec, Spec } from './spec.ts';

/**
 * The rules the answers are checked with (zod schemas), loaded by `loadRules()` before the first
 * answer is parsed, so that `--help`, which needs only the flags, starts without them.
 */
let rules: (typeof Rules & typeof Naming) | undefined;

export async function loadRules(): Promise<void> {
  rules ??= { ...(await import('./spec.ts')), ...(await import('../templates/worker/src/runtime/naming.ts')) };
}

function loaded(): typeof Rules & typeof Naming {
  if (!rules) throw new Error('options: call loadRules() before parsing answers');
  return rules;
}

export interface OptionContext {
  /** The `[directory]` argument, if given. */
  directory: string | undefined;
}

interface Prompt {
  message: string;
  /** Shown in grey when the answer has no default: an example, never taken as the answer. */
  placeholder?: string;
  /**
   * The default is shown as text to edit, not in grey: typing adds to it (a second queue) instead
   * of silently putting something in its place.
   */
  prefill?: boolean;
  /** A multiselect over these (value, hint); the answer is the chosen values, comma-separated. */
  choices?: readonly { value: string; hint: string }[];
}

/** More flags for the same answer, turned into its raw text (see `integrations`). */
interface ExtraFlag {
  flag: string;
  description: string;
  /** The raw text this flag contributes, from its value (`true` for a switch). */
  raw(value: string | true): string;
}

export interface OptionDefinition<K extends keyof Spec = keyof Spec> {
  key: K;
  /** commander's flag syntax. */
  flag: string;
  description: string;
  /** Collects repeated flags into a list. */
  repeatable?: boolean;
  extraFlags?: readonly ExtraFlag[];
  /** Asked in a TTY when the flag is not given; flag-only otherwise. */
  prompt?: Prompt;
  /** The value used with `--yes`, without a TTY, and as the prompt's initial value. */
  default(answers: Partial<Spec>, context: OptionContext): Spec[K] | undefined;
  /**
   * What the user typed that the default comes from, for its errors to name (not the flag,
   * which nobody typed); undefined when the default is not something typed.
   */
  typedAs?(context: OptionContext): string | undefined;
  /** The prompt's initial value, when it differs from `default` (which flags without a TTY get). */
  suggest?(answers: Partial<Spec>): Spec[K] | undefined;
  /**
   * Turns the flag or prompt text into the value, or throws a UserError. `flag` is the flag its
   * errors name; undefined for text typed at a prompt, where the user typed no flag.
   */
  parse(raw: string | string[], answers: Partial<Spec>, flag?: string): Spec[K];
  /** Shows a value as prompt text (the inverse of `parse`). */
  format?(value: Spec[K]): string;
}

function field<K extends keyof Spec>(key: K) {
  return (raw: string | string[], _answers: Partial<Spec>, flag?: string) => {
    const { checked, specSchema } = loaded();
    return checked(specSchema.shape[key] as unknown as z.ZodType<Spec[K]>, raw, flag);
  };
}

/** What a generated task takes at first (render.ts's taskTemplate), said where a task is named. */
export const NEW_TASK_TAKES = 'add takes two numbers, any other task one string at first';

const define = <K extends keyof Spec>(definition: OptionDefinition<K>) => definition;

/** In the order they are asked: env and user come first, as the queue names depend on them. */
export const OPTIONS: readonly OptionDefinition[] = [
  define({
    key: 'name',
    flag: '--name <name>',
    description: 'worker name: npm package, metric prefix and default queue prefix',
    prompt: { message: 'Worker name', placeholder: 'image-resizer' },
    default: (_answers, { directory }) => (directory ? basename(resolve(directory)) : undefined),
    typedAs: ({ directory }) =>
      directory
        ? `the directory ${loaded().quoted(directory)} (the worker's name, unless --name gives another)`
        : undefined,
    parse: field('name'),
  }),
  define({
    key: 'description',
    flag: '--description <text>',
    description: 'one line on what the worker does',
    prompt: { message: 'Description' },
    default: (answers) => `Runs ${answers.name ?? 'the'} tasks from SQS`,
    parse: field('description'),
  }),
  define({
    key: 'env',
    flag: '--env <env>',
    description: 'environment for queue names (default: local)',
    default: () => 'local',
    parse: field('env'),
  }),
  define({
    key: 'user',
    flag: '--user <user>',
    description: 'the <user> of local queue names (default: your login name, SQS-safe)',
    default: () => loaded().defaultUser(),
    parse: field('user'),
  }),
  define({
    key: 'region',
    flag: '--region <region>',
    description: 'AWS region (default: us-west-1)',
    default: () => 'us-west-1',
    parse: field('region'),
  }),
  define({
    key: 'queues',
    flag: '--queue <queue[:task[:ratelimit]]>',
    description:
      'a queue, the task it runs and its ratelimit name (which needs --with ratelimit); repeat for more (default: <name>-add:add)',
    repeatable: true,
    prompt: {
      message: `Queues, comma-separated, each queue[:task[:ratelimit]] (${NEW_TASK_TAKES})`,
      placeholder: 'image-resizer-add:add',
      prefill: true,
    },
    default: (answers) => (answers.name ? [{ queue: `${answers.name}-add`, task: 'add' }] : undefined),
    parse: (raw, answers, flag) => {
      const items = (Array.isArray(raw) ? raw : raw.split(',')).map((item) => item.trim()).filter(Boolean);
      const { crossCheck, parseQueueSpec } = loaded();
      const queues = items.map((item) => parseQueueSpec(item, flag));
      // Check duplicates and the longest name now, so a prompt can say so at once.
      crossCheck({ ...(answers as Spec), queues }, flag);
      return queues;
    },
    format: (queues: QueueSpec[]) =>
      queues.map(({ queue, task, ratelimit }) => [queue, task, ratelimit].filter(Boolean).join(':')).join(', '),
  }),
  define({
    key: 'integrations',
    flag: '--with <names>',
    description: `integrations to add, comma-separated: ${INTEGRATION_NAMES.join(', ')} (default: none)`,
    extraFlags: [
      {
        flag: '--without <names>',
        description: 'integrations to leave out',
        raw: (value) => `-${String(value).split(',').join(',-')}`,
      },
      { flag: '--all', description: 'every integration', raw: () => 'all' },
      { flag: '--none', description: 'no integration', raw: () => 'none' },
    ],
    prompt: {
      message: 'Integrations',
      choices: INTEGRATIONS.map(({ name, hint }) => ({ value: name, hint })),
    },
    default: () => [],
    // A queue that names a ratelimit needs the integration: offered ticked, so Enter keeps it.
    suggest: (answers) => (answers.queues?.some(({ ratelimit }) => ratelimit) ? ['ratelimit'] : []),
    parse: (raw, answers, flag) => {
      // "all" or "none" sets the start; names add to it, "-name" takes away.
      const words = (Array.isArray(raw) ? raw : [raw])
        .flatMap((text) => text.split(','))
        .map((word) => word.trim())
        .filter(Boolean);
      for (const word of words) {
        const name = word.replace(/^-/, '');
        if (name !== 'all' && name !== 'none' && !(INTEGRATION_NAMES as readonly string[]).includes(name)) {
          throw new UserError(
            `--with/--without: no integration ${loaded().quoted(name)}; there are ${INTEGRATION_NAMES.join(', ')}`,
          );
        }
      }
      refuseContradictions(words);
      const chosen = new Set<string>(words.includes('all') ? INTEGRATION_NAMES : []);
      for (const word of words.filter((candidate) => candidate !== 'all' && candidate !== 'none')) {
        if (word.startsWith('-')) chosen.delete(word.slice(1));
        else chosen.add(word);
      }
      const integrations = INTEGRATION_NAMES.filter((name) => chosen.has(name));
      if (answers.queues) loaded().checkRatelimits({ queues: answers.queues, integrations }, flag !== undefined);
      return integrations;
    },
    format: (names: string[]) => names.join(','),
  }),
  define({
    key: 'deploy',
    flag: '--deploy <target>',
    description: 'deployment manifests to generate: k8s (deploy/k8s/: kustomize, KEDA) or none (default: k8s)',
    default: () => 'k8s' as const,
    parse: field('deploy'),
  }),
  define({
    key: 'packageManager',
    flag: '--package-manager <name>',
    description: `package manager to install with: ${PACKAGE_MANAGERS.join(' or ')} (default: the one running this)`,
    default: () => detectPackageManager(),
    parse: field('packageManager'),
  }),
];

/** Integration flags that say opposite things are refused, not settled by their order. */
function refuseContradictions(words: readonly string[]): void {
  const added = words.filter((word) => !word.startsWith('-') && word !== 'all' && word !== 'none');
  const removed = new Set(words.filter((word) => word.startsWith('-')).map((word) => word.slice(1)));
  const both = added.find((name) => removed.has(name));
  let pair: string | undefined;
  if (words.includes('all') && words.includes('none')) pair = '--all and --none';
  else if (words.includes('none') && added[0]) pair = `--none and --with ${added[0]}`;
  else if (both) pair = `--with ${both} and --without ${both}`;
  if (pair) throw new UserError(`${pair} contradict each other; keep one of them`);
}
