// `be-worker add-queue` on generated workers, fresh and hand-edited: the edits land on the syntax
// tree and keep the team's own; a refusal changes no byte.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, REPO, tempDir } from '../support/process.ts';
import { KEYS, killTerminals, spawnInTerminal } from '../support/terminal.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
let worker: string;

const addQueue = (...args: string[]) =>
  execa('node', [BE_WORKER, 'add-queue', ...args], { cwd: worker, reject: false, all: true, stdin: 'ignore' });
const read = (path: string) => readFile(join(worker, path), 'utf8');

/** Every file of the worker, path → contents. */
async function snapshot(): Promise<Map<string, string>> {
  const entries = await readdir(worker, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile());
  return new Map(
    await Promise.all(
      files.map(async (entry) => {
        const path = relative(worker, join(entry.parentPath, entry.name));
        return [path, await read(path)] as const;
      }),
    ),
  );
}

/** A fresh worker "shop" (queue orders, task ship) made with `flags`. */
async function createShop(...flags: string[]): Promise<void> {
  const cwd = await tempDir();
  await execa('node', [CLI, 'shop', '--user', 'ann', '--queue', 'orders:ship', '--no-install', '--no-git', ...flags], {
    cwd,
  });
  worker = join(cwd, 'shop');
}

beforeEach(async () => {
  await createShop();
});

describe('be-worker add-queue', () => {
  it('adds the queue, the task with its test, the registration and the answer', async () => {
    await createShop('--with', 'ratelimit');
    const result = await addQueue('images-resize', '--task', 'resize', '--ratelimit', 'img');
    expect(result.exitCode, result.all).toBe(0);
    expect(await read('src/config/queues.ts')).toContain(
      "  {\n    queue: 'images-resize',\n    task: 'resize',\n    ratelimit: 'img',\n  },\n];",
    );
    expect(await read('src/tasks/index.ts')).toContain(
      "import { resize } from './resize.ts';\nimport { ship } from './ship.ts';",
    );
    expect(await read('src/tasks/index.ts')).toContain('export const tasks: TaskDefinition[] = [ship, resize];');
    expect(await read('src/tasks/resize.ts')).toContain("name: 'resize'");
    expect(await read('test/tasks/resize.test.ts')).toContain("from '../../src/tasks/resize.ts'");
    const answers = JSON.parse(await read('be-worker.json')).answers;
    expect(answers.queues).toEqual([
      { queue: 'orders', task: 'ship' },
      { queue: 'images-resize', task: 'resize', ratelimit: 'img' },
    ]);
    expect(result.stdout).toContain('3. npm run be-worker -- provision');
  });

  it('refuses a --ratelimit when the worker has no ratelimit integration, with the fix, changing no byte', async () => {
    const before = await snapshot();
    const result = await addQueue('images-resize', '--ratelimit', 'img');
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe(
      '✖ --ratelimit img: this worker has no ratelimit integration, so nothing would enforce it; add the integration first (be-worker add-integration ratelimit), or leave out --ratelimit',
    );
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    [['ok', '--task', '1x'], '✖ --task: a task name is a Celery-style identifier'],
    [['bad name'], '✖ an SQS queue name is letters, digits'],
    [['ok', '--ratelimit', 'bad limit'], '✖ --ratelimit: a ratelimit name is letters, digits'],
  ])('names the part of %j that is wrong, not the queue and task glued together', async (args, start) => {
    const result = await addQueue(...args);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().startsWith(start), result.stderr).toBe(true);
    expect(result.stderr).not.toMatch(/"ok:|"bad name:/);
  });

  it('keeps hand edits: comments, order, quotes and layout', async () => {
    const queues = `// Our queues. Do not reorder without telling #ops.
import type { QueueBinding } from "../runtime/index.ts";

export const queues: QueueBinding[] = [
  // The money path.
  { task: "ship", queue: "orders" } /* hot */,
];
`;
    const tasks = `import type { TaskDefinition } from "../runtime/index.ts";
import { ship } from "./ship.ts"; // ships parcels

// Registry.
export const tasks: TaskDefinition[] = [
  ship,
];
`;
    await writeFile(join(worker, 'src/config/queues.ts'), queues);
    await writeFile(join(worker, 'src/tasks/index.ts'), tasks);
    const result = await addQueue('refunds');
    expect(result.exitCode, result.all).toBe(0);
    expect(await read('src/config/queues.ts')).toBe(`// Our queues. Do not reorder without telling #ops.
import type { QueueBinding } from "../runtime/index.ts";

export const queues: QueueBinding[] = [
  // The money path.
  { task: "ship", queue: "orders" } /* hot */,
  {
    queue: "refunds",
    task: "refunds",
  },
];
`);
    expect(await read('src/tasks/index.ts')).toBe(`import type { TaskDefinition } from "../runtime/index.ts";
import { refunds } from "./refunds.ts";
import { ship } from "./ship.ts"; // ships parcels

// Registry.
export const tasks: TaskDefinition[] = [
  ship,
  refunds,
];
`);
    // An import that sorts last goes below the commented line, leaving the comment with its import.
    expect((await addQueue('zebras')).exitCode).toBe(0);
    expect(await read('src/tasks/index.ts')).toContain(
      'import { ship } from "./ship.ts"; // ships parcels\nimport { zebras } from "./zebras.ts";\n',
    );
  });

  it('adds a row to the queue tables of README.md and examples/client/README.md', async () => {
    const result = await addQueue('images-resize', '--task', 'resize');
    expect(result.exitCode, result.all).toBe(0);
    expect(await read('README.md')).toContain(
      [
        '| queue | task | SQS queue (`APP_ENV=prod`) | dead-letter queue |',
        '|---|---|---|---|',
        '| `orders` | `ship` | `prod-orders` | `err-prod-orders` |',
        '| `images-resize` | `resize` | `prod-images-resize` | `err-prod-images-resize` |',
        '',
      ].join('\n'),
    );
    expect(await read('examples/client/README.md')).toContain(
      [
        '| queue | task | SQS name in prod |',
        '|---|---|---|',
        '| `orders` | `ship` | `prod-orders` |',
        '| `images-resize` | `resize` | `prod-images-resize` |',
        '',
      ].join('\n'),
    );
    expect(result.stdout).toContain('updated README.md');
    expect(result.stdout).toContain('updated examples/client/README.md');
  });

  it("keeps the team's edits to the README: its own rows, columns in its order, the text around", async () => {
    const readme = await read('README.md');
    const table = readme.slice(readme.indexOf('| queue |'), readme.indexOf('\n\n', readme.indexOf('| queue |')) + 1);
    const rows = [
      '| dead-letter queue | task | queue |',
      '|:--|:--|--:|',
      '| `err-prod-orders` | `ship` | `orders` |',
      '| `err-prod-legacy` | `old_task` | `legacy` |   ',
    ];
    const theirs = `${rows.join('\n')}\n`;
    const edited = readme.replace('A TypeScript worker', 'Our worker').replace(table, theirs);
    await writeFile(join(worker, 'README.md'), edited);
    const result = await addQueue('refunds');
    expect(result.exitCode, result.all).toBe(0);
    expect(await read('README.md')).toBe(
      edited.replace(theirs, `${[...rows, '| `err-prod-refunds` | `refunds` | `refunds` |'].join('\n')}\n`),
    );
  });

  it('leaves a queue table the team removed or rewrote, says so, and makes its other edits', async () => {
    const readme = (await read('README.md')).replace('| queue | task |', '| Queue | Task |');
    await writeFile(join(worker, 'README.md'), readme);
    await rm(join(worker, 'examples/client/README.md'));
    const result = await addQueue('refunds');
    expect(result.exitCode, result.all).toBe(0);
    expect(await read('README.md')).toBe(readme);
    expect(result.stdout).toContain(
      'README.md has no queue table as generated (| queue | task | … |): left as is; add refunds to it by hand.',
    );
    expect(result.stdout).toContain('examples/client/README.md is not there: no queue table to update.');
    expect(await read('src/config/queues.ts')).toContain("queue: 'refunds'");
  });

  it('--dry-run prints the diff and changes nothing', async () => {
    const before = await snapshot();
    const result = await addQueue('refunds', '--dry-run');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain("+    queue: 'refunds',");
    expect(result.stdout).toContain('+++ b/src/tasks/refunds.ts');
    expect(result.stdout).toContain('+++ b/README.md');
    expect(result.stdout).toContain('+| `refunds` | `refunds` | `prod-refunds` | `err-prod-refunds` |');
    expect(result.stdout).toContain('+| `refunds` | `refunds` | `prod-refunds` |\n');
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    [['orders'], 'already in src/config/queues.ts'],
    [['parcels', '--task', 'ship'], 'task "ship" already exists'],
    // The default task is the queue's last word: "express-ship" would run "ship" from a second queue.
    [['express-ship'], 'task "ship" already exists in this worker; give the new queue its own task with --task <name>'],
    [['bad name'], 'letters, digits'],
    [['q'.repeat(70)], 'characters long; SQS allows 80'],
    [['ok', '--task', 'not-a-task'], 'Celery-style identifier'],
  ])('refuses %j with the rule, changing no byte', async (args, message) => {
    const before = await snapshot();
    const result = await addQueue(...args);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(message);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses to run outside a worker', async () => {
    const result = await execa('node', [BE_WORKER, 'add-queue', 'x'], { cwd: await tempDir(), reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('no be-worker.json');
  });
});

describe('addQueue, the library call', () => {
  it('adds the queue from any folder of the worker, and a dry run changes nothing', async () => {
    const { addQueue: addQueueCall } = await import('../../src/index.ts');
    const before = await snapshot();
    const planned = await addQueueCall(join(worker, 'src'), { queue: 'refunds' }, { dryRun: true });
    expect(planned.diff).toContain("+    queue: 'refunds',");
    expect(await snapshot()).toEqual(before);
    const added = await addQueueCall(join(worker, 'src'), { queue: 'refunds' });
    expect(added.queue).toEqual({ queue: 'refunds', task: 'refunds' });
    expect(await read('src/config/queues.ts')).toContain("queue: 'refunds',");
    expect(await read('src/tasks/refunds.ts')).toContain("name: 'refunds'");
  });
});

describe('be-worker add-queue with what is missing', () => {
  afterEach(killTerminals);

  it('without a terminal: names the missing argument, asks nothing, changes no byte', async () => {
    const before = await snapshot();
    const result = await addQueue();
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe(
      '✖ missing <queue>: the short queue name, e.g. images-resize; pass it as an argument (nothing is asked without a terminal)',
    );
    expect(await snapshot()).toEqual(before);
  });

  it('in a terminal: asks the queue (its rule on a bad one, Enter alone is no name) and the task (Enter: the last word)', async () => {
    const cli = spawnInTerminal(BE_WORKER, ['add-queue'], worker);
    await cli.waitFor('Queue name');
    cli.write(KEYS.ENTER);
    await cli.waitFor('type one: "images-resize", in grey, is only an example');
    cli.write(`Bad Name${KEYS.ENTER}`);
    await cli.waitFor('an SQS queue name is letters, digits');
    for (let i = 0; i < 'Bad Name'.length; i++) cli.write(KEYS.BACKSPACE);
    cli.write(`images-resize${KEYS.ENTER}`);
    await cli.waitFor('Task it runs');
    cli.write(KEYS.ENTER);
    expect(await cli.exited, cli.screen()).toBe(0);
    expect(cli.screen()).not.toContain('Ratelimit');
    expect(JSON.parse(await read('be-worker.json')).answers.queues).toEqual([
      { queue: 'orders', task: 'ship' },
      { queue: 'images-resize', task: 'resize' },
    ]);
  });

  it('in a terminal, with the ratelimit integration: asks the ratelimit too, and only what no flag gave', async () => {
    await createShop('--with', 'ratelimit');
    const cli = spawnInTerminal(BE_WORKER, ['add-queue', '--task', 'shrink'], worker);
    await cli.waitFor('Queue name');
    cli.write(`thumbs${KEYS.ENTER}`);
    await cli.waitFor('Ratelimit');
    cli.write(`img-2${KEYS.ENTER}`);
    expect(await cli.exited, cli.screen()).toBe(0);
    expect(cli.screen()).not.toContain('Task it runs');
    expect(JSON.parse(await read('be-worker.json')).answers.queues[1]).toEqual({
      queue: 'thumbs',
      task: 'shrink',
      ratelimit: 'img-2',
    });
  });

  it('in a terminal, Ctrl-C at a question: exit 130, no byte changed', async () => {
    const before = await snapshot();
    const cli = spawnInTerminal(BE_WORKER, ['add-queue'], worker);
    await cli.waitFor('Queue name');
    cli.write(`refunds${KEYS.ENTER}`);
    await cli.waitFor('Task it runs');
    cli.write(KEYS.CTRL_C);
    expect(await cli.exited, cli.screen()).toBe(130);
    expect(await snapshot()).toEqual(before);
  });
});
