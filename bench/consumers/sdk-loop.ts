// The loop one writes by hand with @aws-sdk/client-sqs: receive up to 10, run them together,
// delete them with one DeleteMessageBatch, again; as many loops as sqs-consumer has consumers,
// and a socket for each loop's long poll beyond the SDK's 50 (without them, at 500 loops and
// more, deletes waited behind long polls until they timed out).
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../templates/worker/src/runtime/sqs.ts';
import { handleBody, runConsumer } from './harness.ts';

runConsumer(async (settings, done) => {
  const loopCount = Math.ceil(settings.concurrency / 10);
  const sqs = createSqsClient({ region: settings.region, endpoint: settings.endpoint }, loopCount);
  const polling = new AbortController();
  const loop = async () => {
    while (!polling.signal.aborted) {
      const { Messages = [] } = await sqs
        .send(
          new ReceiveMessageCommand({
            QueueUrl: settings.queueUrl,
            MaxNumberOfMessages: Math.min(10, settings.concurrency),
            WaitTimeSeconds: 20,
          }),
          { abortSignal: polling.signal },
        )
        .catch(() => ({ Messages: [] }));
      if (!Messages.length) continue;
      await Promise.all(Messages.map((message) => handleBody(message.Body, done)));
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: settings.queueUrl,
          Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
  };
  const loops = Array.from({ length: loopCount }, loop);
  return async () => {
    polling.abort();
    await Promise.allSettled(loops);
  };
});
