// A worker generated as a user generates one (`create-be-worker <name> … --package-manager npm`),
// built (`npm run build`), with its local queues made on the bench's SQS: run it as its image
// does, `node dist/main.js` in its folder. `benchTask` adds the bench queue and task
// (`be-worker add-queue bench`), the body filled in: args [sent at, sleep ms], it sleeps that long.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CREATE_BE_WORKER = fileURLToPath(new URL('../bin/create-be-worker.js', import.meta.url));
const BE_WORKER = fileURLToPath(new URL('../bin/be-worker.js', import.meta.url));

const BENCH_TASK = `import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTask } from '../runtime/index.ts';

/** The benchmark's task: args [sent at (ms since epoch), sleep (ms)]; a no-op when the sleep is 0. */
export const bench = defineTask({
  name: 'bench',
  args: z.tuple([z.number(), z.number()]),
  async run([, ms]) {
    if (ms > 0) await sleep(ms);
  },
});
`;

export function workerEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SQS_ENDPOINT: endpoint,
    AWS_REGION: 'us-east-1', // the region the bench's SQS client uses: fauxqs keeps queues per region
    BE_WORKER_USER: 'bench',
  };
}

/** Generates, installs and builds worker `name` in `parent`; returns its folder. */
export function generateWorker(
  parent: string,
  name: string,
  flags: readonly string[],
  endpoint: string,
  benchTask = false,
) {
  execFileSync(
    process.execPath,
    [CREATE_BE_WORKER, name, ...flags, '--no-git', '--user', 'bench', '--package-manager', 'npm'],
    {
      cwd: parent,
      stdio: 'ignore',
      env: { ...process.env, CI: 'true' },
    },
  );
  const worker = join(parent, name);
  if (benchTask) {
    execFileSync(process.execPath, [BE_WORKER, 'add-queue', 'bench'], { cwd: worker, stdio: 'ignore' });
    writeFileSync(join(worker, 'src', 'tasks', 'bench.ts'), BENCH_TASK);
  }
  execFileSync('npm', ['run', 'build'], { cwd: worker, stdio: 'ignore' });
  execFileSync(process.execPath, ['dist/local-queues.js'], { cwd: worker, env: workerEnv(endpoint), stdio: 'ignore' });
  return worker;
}
