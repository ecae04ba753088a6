// `npm run dev`: the local environment (APP_ENV=local) with no AWS account. A local SQS (fauxqs)
// runs in this process, and the worker in watch mode against it (scripts/dev-worker.ts, which
// creates the queues and their dead-letter queues each time it starts). Logs are pretty in a
// terminal and JSON lines otherwise, as pino's are.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { startFauxqs } from 'fauxqs';
import { type Config, loadConfig, workerName } from '../src/config/config.ts';
import {
  ConfigError,
  createSqsClient,
  fullQueueName,
  listenError,
  type ResolvedSchedule,
  redactUrls,
  resolveSchedules,
  ScheduleError,
  settingOrigin,
  sqsTarget,
} from '../src/runtime/index.ts';
import {
  describeLocalSchedules,
  type LocalSchedules,
  localTime,
  sendToQueues,
  startLocalSchedules,
} from '../src/runtime/local-schedules.ts';

function fail(message: string): never {
  console.error(`${workerName} cannot start: ${message}`);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  fail(error.message);
}
if (config.APP_ENV !== 'local') {
  fail(
    `npm run dev runs the local environment, and APP_ENV is ${config.APP_ENV} (from ${settingOrigin('APP_ENV')}): unset it; to run against ${config.APP_ENV}'s queues in AWS, \`npm run build && APP_ENV=${config.APP_ENV} npm start\``,
  );
}
const target = sqsTarget(config);
const endpoint = new URL(target.endpoint ?? '');
if (!['localhost', '127.0.0.1', '[::1]'].includes(endpoint.hostname)) {
  fail(
    `npm run dev runs its SQS on this machine, and SQS_ENDPOINT (from ${settingOrigin('SQS_ENDPOINT')}) points elsewhere: unset it, or set it to http://localhost:<port>`,
  );
}
const schedules = await loadSchedules();
// Said now, not by the worker restarting in a loop: the worker's port must be free.
await portFree(config.HTTP_HOST, config.HTTP_PORT).catch((error: unknown) =>
  fail(listenError(error, config.HTTP_HOST, config.HTTP_PORT).message),
);

const port = Number(endpoint.port) || 80;
const sqsServer = await startFauxqs({ port, logger: false }).catch((error: Error) =>
  fail(
    `the local SQS cannot listen on port ${port} (${(error as NodeJS.ErrnoException).code ?? error.message}; another npm run dev or docker compose up?): stop it, or set SQS_ENDPOINT=http://localhost:<free port> in .env`,
  ),
);
console.log(`Local SQS at ${redactUrls(target.endpoint ?? '')}${config.SQS_ENDPOINT ? ` (${target.origin})` : ''}`);
console.log('Send a task from another terminal: npm run send -- <task> <args…>');

// A terminal gets pino-pretty's lines; a pipe (CI, a log collector) the JSON lines as they are.
const pretty = process.stdout.isTTY
  ? (await import('pino-pretty')).default({ colorize: true, ignore: 'pid,worker', sync: true })
  : undefined;
const worker = spawn(process.execPath, ['--env-file-if-exists=.env', '--watch', 'scripts/dev-worker.ts'], {
  stdio: ['inherit', pretty ? 'pipe' : 'inherit', 'inherit'],
});
if (pretty) worker.stdout?.pipe(pretty);

// This process outlives the worker's restarts on change, so a schedule keeps its times.
const localSchedules = fireSchedules(schedules);

const stop = (signal: NodeJS.Signals) => {
  localSchedules?.stop();
  worker.kill(signal);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
worker.on('close', async (code) => {
  localSchedules?.stop();
  await sqsServer.stop();
  process.exit(code ?? 0);
});

/** src/config/schedules.ts, checked as the worker checks it; none when LOCAL_SCHEDULES=off. */
async function loadSchedules(): Promise<ResolvedSchedule[]> {
  const setting = process.env.LOCAL_SCHEDULES || 'on';
  if (setting !== 'on' && setting !== 'off') {
    fail(
      `LOCAL_SCHEDULES is "${setting}" (from ${settingOrigin('LOCAL_SCHEDULES')}): set it to off to fire no schedules here, or on (the default)`,
    );
  }
  const [{ schedules }, { tasks }, { queues }] = await Promise.all([
    import('../src/config/schedules.ts'),
    import('../src/tasks/index.ts'),
    import('../src/config/queues.ts'),
  ]);
  let resolved: ResolvedSchedule[] = [];
  try {
    resolved = resolveSchedules(schedules, tasks, queues);
  } catch (error) {
    if (!(error instanceof ScheduleError)) throw error;
    fail(error.message);
  }
  if (setting === 'off' && resolved.length > 0) {
    console.log(
      `Schedules not fired here (LOCAL_SCHEDULES=off from ${settingOrigin('LOCAL_SCHEDULES')}): ${resolved.map(({ name }) => name).join(', ')}`,
    );
    return [];
  }
  return resolved;
}

/** Sends each schedule's message to its local queue at its times, and says so. */
function fireSchedules(schedules: ResolvedSchedule[]): LocalSchedules | undefined {
  if (schedules.length === 0) return undefined;
  const naming = { env: config.APP_ENV, user: config.BE_WORKER_USER };
  const sqs = createSqsClient({ region: config.AWS_REGION, endpoint: target.endpoint });
  const fired = startLocalSchedules({
    schedules,
    send: sendToQueues(sqs, naming),
    onFired({ schedule, executionId, scheduledTime }, next) {
      const then = next ? `; next at ${localTime(next, schedule.timezone)}` : '; it fires no more';
      console.log(
        `Schedule ${schedule.name} sent ${schedule.task} (id ${executionId}, for ${scheduledTime.toISOString()}) to ${fullQueueName(schedule.queue, naming)}${then}`,
      );
    },
    onError({ schedule }, error) {
      console.error(`Schedule ${schedule.name} could not send ${schedule.task}: ${(error as Error).message ?? error}`);
    },
  });
  console.log(
    'Schedules fired here, on the local SQS (LOCAL_SCHEDULES=off turns this off; an edit of src/config/schedules.ts takes effect when npm run dev restarts):',
  );
  for (const line of describeLocalSchedules(fired.upcoming())) console.log(line);
  return fired;
}

/** Resolves if `port` can be listened on now (0: any port can). */
function portFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
