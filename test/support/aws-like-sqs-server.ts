// local-aws-sqs in its own process, for what fauxqs does not do as AWS does: a FIFO receive that
// returns up to 10 messages of one group, and message moves (StartMessageMoveTask).
//   node test/support/aws-like-sqs-server.ts <port>
import { createSqsServer } from 'local-aws-sqs';

const [port = '0'] = process.argv.slice(2);
const server = await createSqsServer({
  port: Number(port),
  hostname: '127.0.0.1',
  // Tests delete and create queues of the same name at will.
  emulateQueueCreationLifecycle: false,
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
