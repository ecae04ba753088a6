// local-aws-sqs in its own process, for what fauxqs does not do: a FIFO receive that returns up to
// 10 messages of one group, message moves (StartMessageMoveTask), and SQS's Query protocol, which
// Debian's Celery 5.2 (kombu 5.2, botocore 1.29) speaks.
//   node test/support/aws-like-sqs-server.ts <port>
//
// kombu 5.2's asynchronous ReceiveMessage posts to the queue URL's path without a QueueUrl
// parameter (AWS takes the queue from the path; local-aws-sqs only from the parameter). So
// local-aws-sqs listens on a private port, and <port> is a small proxy in front of it that adds the
// parameter; queue URLs name <port>, so kombu's requests to them go through the proxy too.
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestHandler } from 'local-aws-sqs';

const [port = '0'] = process.argv.slice(2);
const { requestHandler } = createRequestHandler({
  port: Number(port),
  hostname: '127.0.0.1',
  // Tests delete and create queues of the same name at will.
  emulateQueueCreationLifecycle: false,
});
const inner = createServer(requestHandler);
await new Promise<void>((resolve) => inner.listen(0, '127.0.0.1', resolve));
const innerPort = (inner.address() as AddressInfo).port;

const proxy = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  forward(req, res, withQueueUrl(req, Buffer.concat(chunks)));
});
await new Promise<void>((resolve) => proxy.listen(Number(port), '127.0.0.1', resolve));

/** A Query-protocol call to `/<account>/<queue>` without `QueueUrl` gets it from the path. */
function withQueueUrl(req: IncomingMessage, body: Buffer): Buffer {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const form = req.headers['content-type']?.startsWith('application/x-www-form-urlencoded');
  if (!form || path === '/') return body;
  const params = new URLSearchParams(body.toString());
  if (params.has('QueueUrl')) return body;
  params.set('QueueUrl', `http://127.0.0.1:${port}${path}`);
  return Buffer.from(params.toString());
}

function forward(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const headers = { ...req.headers, 'content-length': String(body.length) };
  const upstream = request(
    { host: '127.0.0.1', port: innerPort, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.writeHead(502).end());
  upstream.end(body);
}

process.on('SIGTERM', () => {
  proxy.close();
  inner.close(() => process.exit(0));
  proxy.closeAllConnections();
  inner.closeAllConnections();
});
