// The large-payloads integration for the benchmark, as a generated worker has it: its module
// (templates/integrations/large-payloads/files/) beside the runtime, in bench/.cache/ (git-ignored),
// where it resolves the repository's node_modules. The bucket is on the bench's fauxqs.
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import type { PayloadStore } from '../templates/worker/src/runtime/payload-store.ts';

export const BENCH_BUCKET = 'bench-payloads';

type Module = {
  largePayloadsEnv: z.ZodRawShape;
  largePayloadStore(config: object, workerName: string): PayloadStore & { close(): void };
};

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** The integration's store on the S3 of `endpoint` (fauxqs serves S3 beside SQS). */
export async function benchPayloadStore(endpoint: string): Promise<PayloadStore & { close(): void }> {
  const place = root('bench/.cache/large-payloads/src/');
  mkdirSync(`${place}integrations`, { recursive: true });
  copyFileSync(
    root('templates/integrations/large-payloads/files/src/integrations/large-payloads.ts'),
    `${place}integrations/large-payloads.ts`,
  );
  try {
    symlinkSync(root('templates/worker/src/runtime'), `${place}runtime`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const module = (await import(`${place}integrations/large-payloads.ts`)) as Module;
  const config = {
    LARGE_PAYLOAD_BUCKET: BENCH_BUCKET,
    LARGE_PAYLOAD_PREFIX: '',
    LARGE_PAYLOAD_KEEP: 'false',
    LARGE_PAYLOAD_MAX_BYTES: 128 * 1024 * 1024,
    LARGE_PAYLOAD_TIMEOUT_SECONDS: 120,
    APP_ENV: 'local',
    AWS_REGION: 'us-east-1',
    SQS_ENDPOINT: endpoint,
  };
  return module.largePayloadStore(config, 'bench');
}
