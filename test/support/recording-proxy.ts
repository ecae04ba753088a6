// An HTTP proxy in front of an AWS emulator (moto) that records every call the AWS SDK sends, as the
// service receives it: moto validates few fields, so the tests assert on the requests themselves.
// It can also answer chosen calls with an error before the emulator sees them.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { parseXML } from '@aws-sdk/xml-builder';

export interface RecordedCall {
  /** The signing name of the service: scheduler, iam, sts, sqs, s3. */
  service: string;
  /** scheduler (REST): "POST /schedules/name"; iam, sts (Query): the Action; sqs (JSON): the operation. */
  operation: string;
  method: string;
  path: string;
  query: URLSearchParams;
  /** The body: parsed JSON (REST and JSON protocols), the form fields (Query protocol), or parsed XML (S3). */
  body: Record<string, unknown>;
}

export interface InjectedAnswer {
  /** Whether this call gets the answer. */
  matches(call: RecordedCall): boolean;
  status: number;
  /** The error as the service's protocol spells it (a JSON body for scheduler). */
  body: string;
  headers?: Record<string, string>;
  /** How many matching calls get it; then they pass again. */
  times: number;
}

export interface RecordingProxy {
  endpoint: string;
  calls: RecordedCall[];
  /** The calls since the last `take()` (or the start), and forgets them. */
  take(): RecordedCall[];
  inject(answer: InjectedAnswer): void;
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const calls: RecordedCall[] = [];
  let taken = 0;
  const injected: InjectedAnswer[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const raw = Buffer.concat(chunks);
      const call = recorded(incoming.method ?? 'GET', incoming.url ?? '/', incoming.headers, raw.toString('utf8'));
      calls.push(call);
      const answer = injected.find((candidate) => candidate.times > 0 && candidate.matches(call));
      if (answer) {
        answer.times -= 1;
        outgoing.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        outgoing.end(answer.body);
        return;
      }
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forward.on('error', (error) => {
        outgoing.writeHead(502);
        outgoing.end(String(error));
      });
      forward.end(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    take() {
      const since = calls.slice(taken);
      taken = calls.length;
      return since;
    },
    inject(answer) {
      injected.push(answer);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function recorded(
  method: string,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  text: string,
): RecordedCall {
  // Credential=<key>/<date>/<region>/<service>/aws4_request
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(headers.authorization ?? ''))?.[1] ?? '';
  const path = decodeURIComponent(url.split('?')[0] ?? '');
  const contentType = String(headers['content-type'] ?? '');
  let body: Record<string, unknown> = {};
  if (contentType.includes('x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(text));
  // S3 (REST-XML): the document as the SDK's own parser reads it, a list of one as the element itself.
  else if (text.trimStart().startsWith('<')) body = parseXML(text) as Record<string, unknown>;
  else if (text) body = JSON.parse(text) as Record<string, unknown>;
  const target = headers['x-amz-target'];
  const operation =
    typeof target === 'string'
      ? (target.split('.').at(-1) ?? '')
      : typeof body.Action === 'string'
        ? body.Action
        : `${method} ${path}`;
  return { service, operation, method, path, query: new URLSearchParams(url.split('?')[1] ?? ''), body };
}
