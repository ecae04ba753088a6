// Queue naming and the name schemas shared by the CLI and the worker.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  deadLetterQueueName,
  defaultUser,
  envNameSchema,
  fullQueueName,
  isFifo,
  longestQueueName,
  metricPrefix,
  queueNameSchema,
  ratelimitNameSchema,
  SQS_NAME_MAX,
  taskNameSchema,
  userNameSchema,
  workerNameSchema,
} from '../../templates/worker/src/runtime/naming.ts';

const local = { env: 'local', user: 'john' };
const prod = { env: 'prod', user: 'john' };

describe('queue names', () => {
  it('is <env>-<queue> in a shared environment', () => {
    expect(fullQueueName('add', prod)).toBe('prod-add');
    expect(fullQueueName('add', { env: 'staging-2', user: 'ann' })).toBe('staging-2-add');
  });

  it('is <user>-local-<queue> on a developer machine', () => {
    expect(fullQueueName('add', local)).toBe('john-local-add');
  });

  it('puts the dead-letter queue at err-<full name>', () => {
    expect(deadLetterQueueName(fullQueueName('add', prod))).toBe('err-prod-add');
    expect(deadLetterQueueName(fullQueueName('add', local))).toBe('err-john-local-add');
  });

  it('keeps .fifo at the end of FIFO names', () => {
    expect(isFifo('orders.fifo')).toBe(true);
    expect(isFifo('orders')).toBe(false);
    expect(fullQueueName('orders.fifo', prod)).toBe('prod-orders.fifo');
    expect(fullQueueName('orders.fifo', local)).toBe('john-local-orders.fifo');
    expect(deadLetterQueueName('prod-orders.fifo')).toBe('err-prod-orders.fifo');
    expect(isFifo(deadLetterQueueName(fullQueueName('orders.fifo', local)))).toBe(true);
  });

  it('computes the longest name as err-<user>-<env>-<queue>', () => {
    expect(longestQueueName('add', local)).toBe('err-john-local-add');
    expect(longestQueueName('add', prod)).toBe('err-john-prod-add');
    expect(longestQueueName('orders.fifo', prod)).toBe('err-john-prod-orders.fifo');
  });

  it('has a longest name no shorter than any real name of the queue', () => {
    for (const context of [local, prod, { env: 'dev', user: 'a-very-long-user-name' }]) {
      for (const queue of ['add', 'orders.fifo']) {
        const full = fullQueueName(queue, context);
        const longest = longestQueueName(queue, context);
        expect(longest.length).toBeGreaterThanOrEqual(deadLetterQueueName(full).length);
        expect(longest.length).toBeGreaterThanOrEqual(full.length);
      }
    }
  });
});

type Schema = z.ZodType<string, string>;

function messagesOf(schema: Schema, value: string): string[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

interface SchemaTable {
  name: string;
  schema: Schema;
  accepted: string[];
  rejected: [value: string, rule: RegExp][];
}

const tables: SchemaTable[] = [
  {
    name: 'workerNameSchema',
    schema: workerNameSchema,
    accepted: ['image-resizer', 'a', 'worker2', 'a1-b2-c3', `w${'x'.repeat(63)}`],
    rejected: [
      ['', /empty/],
      ['Image-Resizer', /lower-case letters, digits and single hyphens/],
      ['1worker', /starting with a letter/],
      ['-worker', /starting with a letter/],
      ['worker-', /single hyphens/],
      ['image--resizer', /single hyphens/],
      ['image_resizer', /lower-case letters, digits and single hyphens/],
      ['image.resizer', /lower-case letters, digits and single hyphens/],
      [`w${'x'.repeat(64)}`, /at most 64 characters/],
    ],
  },
  {
    name: 'queueNameSchema',
    schema: queueNameSchema,
    accepted: ['add', 'Add_Queue-1', 'orders.fifo', 'q'.repeat(80), `${'q'.repeat(75)}.fifo`],
    rejected: [
      ['', /empty/],
      ['q'.repeat(81), /at most 80 characters/],
      [`${'q'.repeat(76)}.fifo`, /at most 80 characters/],
      ['my queue', /letters, digits, "-" and "_" only/],
      ['my.queue', /letters, digits, "-" and "_" only/],
      ['orders.FIFO', /FIFO queues end in "\.fifo"/],
      ['.fifo', /letters, digits, "-" and "_" only/],
      ['orders.fifo.fifo', /letters, digits, "-" and "_" only/],
      ['café', /letters, digits, "-" and "_" only/],
    ],
  },
  {
    name: 'taskNameSchema',
    schema: taskNameSchema,
    accepted: ['add', 'app.tasks.add', '_private', 'Tasks.Add2', 'a.b_c.D9', 'a'.repeat(200)],
    rejected: [
      ['', /empty/],
      ['add-numbers', /dot-separated words of letters, digits and "_"/],
      ['app..add', /dot-separated words/],
      ['.add', /dot-separated words/],
      ['add.', /dot-separated words/],
      ['1add', /Celery-style identifier/],
      ['app.1add', /Celery-style identifier/],
      ['add numbers', /Celery-style identifier/],
      ['a'.repeat(201), /at most 200 characters/],
    ],
  },
  {
    name: 'ratelimitNameSchema',
    schema: ratelimitNameSchema,
    accepted: ['api', 'stripe:charges', 'api.v2_calls-x', '0day', 'r'.repeat(128)],
    rejected: [
      ['', /empty/],
      ['-api', /starting with a letter or digit/],
      ['_api', /starting with a letter or digit/],
      ['api calls', /letters, digits, "_", "\.", ":" and "-"/],
      ['api/calls', /letters, digits, "_", "\.", ":" and "-"/],
      ['r'.repeat(129), /at most 128 characters/],
    ],
  },
  {
    name: 'envNameSchema',
    schema: envNameSchema,
    accepted: ['local', 'dev', 'prod', 'staging-2', `e${'x'.repeat(31)}`],
    rejected: [
      ['', /empty/],
      ['Prod', /lower-case letters, digits and "-"/],
      ['1dev', /starting with a letter/],
      ['-dev', /starting with a letter/],
      ['dev_1', /lower-case letters, digits and "-"/],
      [`e${'x'.repeat(32)}`, /at most 32 characters/],
    ],
  },
  {
    name: 'userNameSchema',
    schema: userNameSchema,
    accepted: ['john', 'john-doe', 'j_doe', '007', 'john-doe-corp', 'u'.repeat(32)],
    rejected: [
      ['', /empty/],
      ['John', /lower-case letters, digits, "-" and "_"/],
      ['-john', /lower-case letters, digits, "-" and "_"/],
      ['_john', /lower-case letters, digits, "-" and "_"/],
      ['john.doe', /lower-case letters, digits, "-" and "_"/],
      ['u'.repeat(33), /at most 32 characters/],
    ],
  },
];

describe.each(tables)('$name', ({ schema, accepted, rejected }) => {
  it.each(accepted)('accepts %j', (value) => {
    const result = schema.safeParse(value);
    expect(result.success).toBe(true);
    expect(result.data).toBe(value);
  });

  it.each(rejected)('rejects %j, stating the rule', (value, rule) => {
    const messages = messagesOf(schema, value);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.join('\n')).toMatch(rule);
  });
});

describe('the queue name limit', () => {
  it('is the SQS limit of 80 characters', () => {
    expect(SQS_NAME_MAX).toBe(80);
  });
});

describe('defaultUser', () => {
  it('makes a login SQS-safe and lower-case', () => {
    const user = defaultUser('John.Doe@CORP');
    expect(user).toBe('john-doe-corp');
    expect(userNameSchema.safeParse(user).success).toBe(true);
    expect(queueNameSchema.safeParse(fullQueueName('add', { env: 'local', user })).success).toBe(true);
  });

  it('falls back to "dev" for an empty login', () => {
    expect(defaultUser('')).toBe('dev');
  });

  it('falls back to "dev" when nothing SQS-safe is left', () => {
    expect(defaultUser('@@@')).toBe('dev');
  });

  it('gives a valid user name for awkward logins', () => {
    for (const login of ['__Admin__', 'DOMAIN\\first.last', 'Ünïcødé', 'x'.repeat(100)]) {
      const user = defaultUser(login);
      expect(messagesOf(userNameSchema, user), `${login} → ${user}`).toEqual([]);
    }
  });
});

describe('metricPrefix', () => {
  it('is the snake_case of the worker name', () => {
    expect(metricPrefix('image-resizer')).toBe('image_resizer');
    expect(metricPrefix('a1-b2-c3')).toBe('a1_b2_c3');
  });
});
