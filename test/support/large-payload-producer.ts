// A producer with the large-payloads integration as its own process, for the test that kills it
// between the S3 write and the SQS send:
//   LARGE_PAYLOADS_MODULE=<generated large-payloads.ts> SQS_ENDPOINT=… LARGE_PAYLOAD_S3_ENDPOINT=… \
//   LARGE_PAYLOAD_BUCKET=… node test/support/large-payload-producer.ts <user> <queue> <task> <argument bytes>
// sends one task with a string argument of that many bytes to <user>-local-<queue>.
import { z } from 'zod';
import { parseEnv } from '../../templates/worker/src/runtime/config.ts';
import type { PayloadStore } from '../../templates/worker/src/runtime/payload-store.ts';
import { Producer } from '../../templates/worker/src/runtime/producer.ts';
import { createSqsClient } from '../../templates/worker/src/runtime/sqs.ts';

const [user = '', queue = '', task = '', bytes = '0'] = process.argv.slice(2);
const module = (await import(process.env.LARGE_PAYLOADS_MODULE ?? '')) as {
  largePayloadsEnv: z.ZodRawShape;
  largePayloadStore(config: object, workerName: string): PayloadStore;
};
const config = {
  ...parseEnv(z.object(module.largePayloadsEnv), process.env),
  APP_ENV: 'local',
  AWS_REGION: 'us-east-1',
  SQS_ENDPOINT: process.env.SQS_ENDPOINT,
};
const sqs = createSqsClient({ region: 'us-east-1', endpoint: process.env.SQS_ENDPOINT });
const producer = new Producer(
  sqs,
  [],
  { env: 'local', user },
  { routes: { [task]: queue }, payloads: module.largePayloadStore(config, user) },
);
console.log(JSON.stringify(await producer.send(task, ['k'.repeat(Number(bytes))])));
