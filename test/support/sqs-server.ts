// fauxqs in its own process for the tests: `node test/support/sqs-server.ts <port> [dataDir]`.
// With a data directory its queues and messages survive a restart (SQLite, written through).
import { startFauxqs } from 'fauxqs';

const [port = '0', dataDir] = process.argv.slice(2);
const server = await startFauxqs({ port: Number(port), logger: false, ...(dataDir ? { dataDir } : {}) });
process.on('SIGTERM', async () => {
  await server.stop();
  process.exit(0);
});
