// sqs-consumer (bbc/sqs-consumer), configured to delete every message it handles
// (alwaysAcknowledge: by default it deletes nothing when the handler returns nothing). One
// consumer runs one batch of up to 10 at a time, so `concurrency` takes concurrency ÷ 10 of them.
import { Consumer } from 'sqs-consumer';
import { createSqsClient } from '../../templates/worker/src/runtime/sqs.ts';
import { handleBody, runConsumer } from './harness.ts';

runConsumer(async (settings, done) => {
  const sqs = createSqsClient({ region: settings.region, endpoint: settings.endpoint });
  const consumers = Array.from({ length: Math.ceil(settings.concurrency / 10) }, () =>
    Consumer.create({
      sqs,
      queueUrl: settings.queueUrl,
      batchSize: Math.min(10, settings.concurrency),
      waitTimeSeconds: 20,
      alwaysAcknowledge: true,
      handleMessage: async (message) => {
        await handleBody(message.Body, done);
        return message;
      },
    }),
  );
  for (const consumer of consumers) {
    consumer.on('error', () => {}); // the aborted long poll at stop
    consumer.start();
  }
  return async () => {
    for (const consumer of consumers) consumer.stop({ abort: true });
  };
});
