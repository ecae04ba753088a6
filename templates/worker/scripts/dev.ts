// `npm run dev`: the local environment (APP_ENV=local) with no AWS account. A local SQS (fauxqs)
// runs in this process, and the worker in watch mode against it (scripts/dev-worker.ts, which
// creates the queues and their dead-letter queues each time it starts). Logs are pretty in a
// terminal and JSON lines otherwise, as pino's are.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { startFauxqs } from 'fauxqs';
import { type Config, loadConfig, workerName } from '../src/config/config.ts';
import { ConfigError, listenError, redactUrls, settingOrigin, sqsTarget } from '../src/runtime/index.ts';

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

const stop = (signal: NodeJS.Signals) => worker.kill(signal);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
worker.on('close', async (code) => {
  await sqsServer.stop();
  process.exit(code ?? 0);
});

/** Resolves if `port` can be listened on now (0: any port can). */
function portFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
