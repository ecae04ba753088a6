// `npm run dev`: a local SQS (fauxqs) in this process, the queues and their dead-letter queues
// created on it, and the worker in watch mode against it. No AWS account needed.
import { spawn } from 'node:child_process';
import { startFauxqs } from 'fauxqs';
import { loadConfig } from '../src/config/config.ts';
import { createLocalQueues } from '../src/local-queues.ts';

const config = loadConfig();
const port = config.SQS_ENDPOINT ? Number(new URL(config.SQS_ENDPOINT).port) || 4566 : 4566;
const sqsServer = await startFauxqs({ port, logger: false }).catch((error: Error) => {
  console.error(`Cannot start the local SQS on port ${port}: ${error.message}`);
  console.error('Stop whatever uses that port, or set SQS_ENDPOINT=http://localhost:<free port> in .env.');
  process.exit(1);
});

const names = await createLocalQueues(config, sqsServer.address);
console.log(`Local SQS at ${sqsServer.address} with queues: ${names.join(', ')} (and their err- DLQs)`);
console.log('Send a task from another terminal: npm run send -- <task> <args…>');

const worker = spawn(process.execPath, ['--env-file-if-exists=.env', '--watch', 'src/main.ts'], {
  stdio: 'inherit',
  env: { ...process.env, SQS_ENDPOINT: sqsServer.address },
});

const stop = (signal: NodeJS.Signals) => worker.kill(signal);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
worker.on('exit', async (code) => {
  await sqsServer.stop();
  process.exit(code ?? 0);
});
