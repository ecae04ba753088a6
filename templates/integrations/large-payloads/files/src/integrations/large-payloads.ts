// Task bodies too large for SQS go to S3, and the message carries a pointer to them, exactly as
// AWS's SQS extended clients (Java, Python) write it: their producers' large tasks run here, and ours
// run on their consumers. The object is written before its message is sent, read back within
// LARGE_PAYLOAD_MAX_BYTES and LARGE_PAYLOAD_TIMEOUT_SECONDS, and deleted once its message is done.
// Locally (APP_ENV=local) the bucket is on the emulator of `npm run dev`, made when first needed.
// The S3 SDK is loaded with the first body written or read (each method imports the commands it
// sends): a worker that never meets a large body never loads it.
import type { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { httpUrl } from '../runtime/config.ts';
import {
  awsClientConfig,
  ConfigError,
  type CoreConfig,
  checkKeyPrefix,
  type IntegrationContext,
  type PayloadPointer,
  type PayloadStore,
  type PayloadThreshold,
  PayloadUnavailableError,
  payloadKey,
  sqsTarget,
  thresholdFor,
  type WorkerHooks,
} from '../runtime/index.ts';

const MiB = 1024 * 1024;
/** Bodies past this go up in parts of this size (S3's parts are 5 MiB at least). */
const PART_BYTES = 8 * MiB;
const ContentType = 'text/plain; charset=utf-8';

export const largePayloadsEnv = {
  /** The bucket (be-worker provision makes it); locally, `<worker>-large-payloads` on the emulator by default. */
  LARGE_PAYLOAD_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'an S3 bucket name: 3-63 of a-z, 0-9, "." and "-"' })
    .optional(),
  /** Bodies longer than this many bytes go to S3, or `always`; by default those past the queue's MaximumMessageSize. */
  LARGE_PAYLOAD_THRESHOLD: z
    .union([z.literal('always'), z.coerce.number().int().min(0)], {
      error: 'a number of bytes, or always',
    })
    .optional(),
  /** Object keys start with this (the Java client's rules: letters, digits, "/", "_", "-", "."). */
  LARGE_PAYLOAD_PREFIX: z
    .string()
    .default('')
    .superRefine((prefix, context) => {
      const problem = checkKeyPrefix(prefix);
      if (problem) context.addIssue({ code: 'custom', message: `a key prefix: ${problem}` });
    }),
  /** true: objects stay after their message is done (the bucket's lifecycle rule removes them). */
  LARGE_PAYLOAD_KEEP: z.enum(['true', 'false']).default('false'),
  /** The largest stored body read back (or sent); a larger one is dead-lettered unread. */
  LARGE_PAYLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(128 * MiB),
  /** How long one S3 read or write may take. */
  LARGE_PAYLOAD_TIMEOUT_SECONDS: z.coerce.number().positive().default(60),
  /** Another S3 than AWS's, or than the local emulator's (APP_ENV=local uses the one of SQS_ENDPOINT). */
  LARGE_PAYLOAD_S3_ENDPOINT: httpUrl('http://localhost:9000').optional(),
};

type LargePayloadsConfig = z.output<z.ZodObject<typeof largePayloadsEnv>> &
  Pick<CoreConfig, 'APP_ENV' | 'AWS_REGION' | 'SQS_ENDPOINT'>;

/** The worker's hooks: its payload store, and the S3 client closed at shutdown. */
export async function largePayloads(
  config: LargePayloadsConfig,
  { name, log }: IntegrationContext,
): Promise<WorkerHooks> {
  const store = largePayloadStore(config, name);
  log.info({ bucket: store.bucket, prefix: config.LARGE_PAYLOAD_PREFIX }, 'large payloads go to S3');
  return { payloads: store, close: () => store.close() };
}

/** The store of the worker and of its producer (src/producer.ts). */
export function largePayloadStore(config: LargePayloadsConfig, workerName: string): S3PayloadStore {
  const local = config.APP_ENV === 'local';
  const endpoint = config.LARGE_PAYLOAD_S3_ENDPOINT ?? (local ? sqsTarget(config).endpoint : undefined);
  const bucket = config.LARGE_PAYLOAD_BUCKET ?? (local ? localBucket(workerName) : undefined);
  if (!bucket) {
    throw new ConfigError(
      `LARGE_PAYLOAD_BUCKET is not set: set it to the bucket \`be-worker provision --env ${config.APP_ENV}\` made, or remove the large-payloads integration`,
    );
  }
  const clientConfig: S3ClientConfig = {
    // As the SQS client: an emulator needs no account (placeholder credentials when none are set).
    ...awsClientConfig({ region: config.AWS_REGION, endpoint }),
    // An emulator serves every bucket on its one host.
    ...(endpoint ? { forcePathStyle: true } : {}),
  };
  return new S3PayloadStore(clientConfig, {
    bucket,
    prefix: config.LARGE_PAYLOAD_PREFIX,
    threshold: config.LARGE_PAYLOAD_THRESHOLD,
    keep: config.LARGE_PAYLOAD_KEEP === 'true',
    maxReadBytes: config.LARGE_PAYLOAD_MAX_BYTES,
    timeoutMs: config.LARGE_PAYLOAD_TIMEOUT_SECONDS * 1000,
    createBucket: endpoint !== undefined && local,
  });
}

export interface S3PayloadStoreOptions {
  bucket: string;
  prefix: string;
  threshold: PayloadThreshold;
  keep: boolean;
  maxReadBytes: number;
  timeoutMs: number;
  /** Make the bucket before the first write (a local emulator starts empty). */
  createBucket: boolean;
}

/** Answers that will not change by asking again: the message is dead-lettered with the reason. */
const GONE = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket', 'AccessDenied', 'Forbidden', 'InvalidObjectState']);

export class S3PayloadStore implements PayloadStore {
  readonly bucket: string;
  readonly keep: boolean;
  readonly maxReadBytes: number;
  readonly #clientConfig: S3ClientConfig;
  #client: Promise<S3Client> | undefined;
  readonly #options: S3PayloadStoreOptions;
  #bucketMade: Promise<void> | undefined;

  constructor(clientConfig: S3ClientConfig, options: S3PayloadStoreOptions) {
    this.#clientConfig = clientConfig;
    this.#options = options;
    this.bucket = options.bucket;
    this.keep = options.keep;
    this.maxReadBytes = options.maxReadBytes;
  }

  thresholdBytes(queueMaxBytes: number): number {
    return thresholdFor(this.#options.threshold, queueMaxBytes);
  }

  async put(body: string, signal?: AbortSignal): Promise<PayloadPointer> {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await this.#s3();
    await this.#ensureBucket(s3);
    const key = payloadKey(this.#options.prefix);
    // One UTF-8 copy, handed to the SDK as is (a string would be converted again inside it).
    const bytes = Buffer.from(body, 'utf8');
    const abortSignal = this.#deadline(signal);
    if (bytes.length > PART_BYTES) await this.#putInParts(s3, key, bytes, abortSignal);
    else {
      await s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentLength: bytes.length, ContentType }),
        { abortSignal },
      );
    }
    return { bucket: this.bucket, key, size: bytes.length };
  }

  /** A large body in parts: S3 takes any size so, and the local emulator takes no request past 11 MiB. */
  async #putInParts(s3: S3Client, key: string, bytes: Buffer, abortSignal: AbortSignal): Promise<void> {
    const {
      AbortMultipartUploadCommand,
      CompleteMultipartUploadCommand,
      CreateMultipartUploadCommand,
      UploadPartCommand,
    } = await import('@aws-sdk/client-s3');
    const where = { Bucket: this.bucket, Key: key };
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ ...where, ContentType }), { abortSignal });
    try {
      const parts = [];
      for (let start = 0, number = 1; start < bytes.length; start += PART_BYTES, number++) {
        // subarray: a view, not a copy.
        const part = bytes.subarray(start, start + PART_BYTES);
        const { ETag } = await s3.send(
          new UploadPartCommand({ ...where, UploadId, PartNumber: number, Body: part, ContentLength: part.length }),
          { abortSignal },
        );
        parts.push({ ETag, PartNumber: number });
      }
      await s3.send(new CompleteMultipartUploadCommand({ ...where, UploadId, MultipartUpload: { Parts: parts } }), {
        abortSignal,
      });
    } catch (error) {
      await s3.send(new AbortMultipartUploadCommand({ ...where, UploadId })).catch(() => {});
      throw error;
    }
  }

  async get(
    pointer: PayloadPointer,
    { maxBytes, signal }: { maxBytes: number; signal?: AbortSignal },
  ): Promise<string> {
    const where = `s3://${pointer.bucket}/${pointer.key}`;
    if (pointer.size > maxBytes) throw tooLarge(where, pointer.size, maxBytes);
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await this.#s3();
    const abortSignal = this.#deadline(signal);
    let stream: Readable | undefined;
    try {
      const output = await s3.send(new GetObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }), {
        abortSignal,
      });
      stream = output.Body as Readable | undefined;
      if (!stream) throw new PayloadUnavailableError(`${where} has no body`);
      const length = output.ContentLength;
      if (length !== undefined && length > maxBytes) throw tooLarge(where, length, maxBytes);
      const bytes = await readAll(stream, length, maxBytes, where);
      try {
        return UTF8.decode(bytes);
      } catch {
        throw new PayloadUnavailableError(`${where} is not UTF-8 text`);
      }
    } catch (error) {
      stream?.destroy();
      const name = (error as Error).name;
      if (GONE.has(name)) throw new PayloadUnavailableError(`${where} cannot be read: ${name}`);
      throw error;
    }
  }

  async delete(pointer: PayloadPointer): Promise<void> {
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await this.#s3();
    await s3.send(new DeleteObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }), {
      abortSignal: this.#deadline(),
    });
  }

  async close(): Promise<void> {
    (await this.#client)?.destroy();
  }

  /** The client, made when the first body is written or read. */
  #s3(): Promise<S3Client> {
    this.#client ??= import('@aws-sdk/client-s3').then(({ S3Client }) => new S3Client(this.#clientConfig));
    return this.#client;
  }

  #deadline(signal?: AbortSignal): AbortSignal {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    return signal ? AbortSignal.any([signal, timeout]) : timeout;
  }

  async #ensureBucket(s3: S3Client): Promise<void> {
    if (!this.#options.createBucket) return;
    const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
    this.#bucketMade ??= s3
      .send(new CreateBucketCommand({ Bucket: this.bucket }), { abortSignal: this.#deadline() })
      .then(
        () => {},
        (error: Error) => {
          if (error.name === 'BucketAlreadyOwnedByYou' || error.name === 'BucketAlreadyExists') return;
          this.#bucketMade = undefined;
          throw error;
        },
      );
    await this.#bucketMade;
  }
}

/** The stream's bytes in one buffer (sized from Content-Length when given): no list of chunks copied again. */
async function readAll(stream: Readable, length: number | undefined, maxBytes: number, where: string): Promise<Buffer> {
  if (length !== undefined) {
    const bytes = Buffer.allocUnsafe(length);
    let filled = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (filled + chunk.length > length) throw new PayloadUnavailableError(`${where} is longer than it said`);
      chunk.copy(bytes, filled);
      filled += chunk.length;
    }
    if (filled !== length) throw new PayloadUnavailableError(`${where} ended after ${filled} of ${length} bytes`);
    return bytes;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(where, total, maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(where: string, bytes: number, maxBytes: number): PayloadUnavailableError {
  return new PayloadUnavailableError(`${where} is ${bytes} bytes, over LARGE_PAYLOAD_MAX_BYTES (${maxBytes})`);
}

/** Invalid UTF-8 is refused, not replaced: the task would run on altered arguments. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The local bucket's name: the worker's, as S3 allows it. */
function localBucket(workerName: string): string {
  const name = `${workerName.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}-large-payloads`;
  return name.replace(/^-+/, '').slice(-63);
}
