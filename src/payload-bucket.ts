// The S3 bucket of the large-payloads integration, made to exist by `be-worker provision` as the
// queues are: created if missing, then each setting checked (encrypted, public access blocked, a
// lifecycle rule that removes orphans), set when missing, reported field by field when it differs
// (changed with --fix). Other lifecycle rules of the bucket are kept: S3 replaces the whole set.

import { isDeepStrictEqual } from 'node:util';
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  type LifecycleRule,
  PutBucketEncryptionCommand,
  type PutBucketEncryptionCommandInput,
  PutBucketLifecycleConfigurationCommand,
  PutPublicAccessBlockCommand,
  type PutPublicAccessBlockCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { EnvironmentError, UserError } from './errors.ts';

/**
 * Days after which the lifecycle rule removes an object: one whose message was never sent (a crash
 * between the S3 write and the send), or kept (LARGE_PAYLOAD_KEEP). Longer than a message can need
 * it: 4 days on its queue (SQS's default retention) then 14 in the dead-letter queue (what provision
 * sets), so a dead letter keeps its object; the 12 days left cover retries and a late redrive.
 */
export const ORPHAN_EXPIRATION_DAYS = 30;
/** The rule's ID: how provision finds its own rule among the bucket's. */
export const LIFECYCLE_RULE_ID = 'be-worker-large-payloads-orphans';
/** S3's rules for a bucket's name (as the worker's LARGE_PAYLOAD_BUCKET checks it). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface PayloadBucket {
  bucket: string;
  /** The key prefix of the objects (LARGE_PAYLOAD_PREFIX); '' is the whole bucket. */
  prefix: string;
}

/**
 * The bucket's default name. Env local: `<worker>-large-payloads`, what the worker uses on the
 * emulator when LARGE_PAYLOAD_BUCKET is unset. Other envs: bucket names are one namespace for all
 * of AWS, so the account makes the name the team's: `<env>-<worker>-large-payloads-<account>`.
 */
export function defaultPayloadBucket({ worker, env, account }: { worker: string; env: string; account: string }) {
  // Locally exactly as the worker's large-payloads.ts names it (a long worker name is cut from the left).
  return env === 'local' ? `${worker}-large-payloads`.slice(-63) : `${env}-${worker}-large-payloads-${account}`;
}

/** The bucket a command acts on: the one given (--bucket), else the default; checked. */
export function payloadBucketOf(
  given: { bucket?: string | undefined; prefix: string },
  target: { worker: string; env: string; account: string },
): PayloadBucket {
  return { bucket: checkBucketName(given.bucket ?? defaultPayloadBucket(target)), prefix: given.prefix };
}

/** Refuses a name S3 would refuse, saying which flag sets another. */
export function checkBucketName(bucket: string): string {
  if (!BUCKET_NAME.test(bucket) || /\.\.|\.-|-\.|--/.test(bucket)) {
    throw new UserError(
      `"${bucket}" is not a bucket name S3 takes (3-63 lowercase letters, digits, single hyphens and dots): pass one with --bucket, and set LARGE_PAYLOAD_BUCKET to it`,
    );
  }
  return bucket;
}

/** The lifecycle rule on the prefix: removes objects after ORPHAN_EXPIRATION_DAYS, and unfinished uploads after a day. */
export function orphanRule(prefix: string): LifecycleRule {
  return {
    ID: LIFECYCLE_RULE_ID,
    Status: 'Enabled',
    Filter: { Prefix: prefix },
    Expiration: { Days: ORPHAN_EXPIRATION_DAYS },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
  } satisfies LifecycleRule;
}

export const PUBLIC_ACCESS_BLOCKED = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
} satisfies PutPublicAccessBlockCommandInput['PublicAccessBlockConfiguration'];

/** SSE-S3: S3's own keys, nothing to manage (a bucket already on KMS is left so). */
export const SSE_S3 = {
  Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
} satisfies PutBucketEncryptionCommandInput['ServerSideEncryptionConfiguration'];

export type BucketSetting = 'bucket' | 'encryption' | 'public access' | 'lifecycle rule';

export interface BucketPlanEntry {
  setting: BucketSetting;
  /** create: missing, set it; drift: differs (set with --fix); skip: the local emulator has none. */
  action: 'create' | 'exists' | 'drift' | 'skip';
  /** What differs, or why it is skipped. */
  details?: string;
  outcome?: 'created' | 'unchanged' | 'fixed' | 'drift' | 'skipped' | 'failed';
  error?: string;
}

export interface BucketPlan extends PayloadBucket {
  expirationDays: number;
  entries: BucketPlanEntry[];
}

/** On the emulator (env local) encryption and public access mean nothing: fauxqs accepts them and keeps none. */
const LOCAL_SKIP = 'not on the local emulator';

/** What provisioning the bucket would do, setting by setting; reads only. */
export async function planBucket(s3: S3Client, target: PayloadBucket & { local: boolean }): Promise<BucketPlan> {
  const { bucket, prefix, local } = target;
  const plan = { bucket, prefix, expirationDays: ORPHAN_EXPIRATION_DAYS };
  const guarded = (setting: BucketSetting, entry: Omit<BucketPlanEntry, 'setting'>): BucketPlanEntry =>
    local && setting !== 'lifecycle rule' ? { setting, action: 'skip', details: LOCAL_SKIP } : { setting, ...entry };
  if (!(await bucketExists(s3, bucket))) {
    return {
      ...plan,
      entries: (['bucket', 'encryption', 'public access', 'lifecycle rule'] as const).map((setting) =>
        setting === 'bucket' ? { setting, action: 'create' } : guarded(setting, { action: 'create' }),
      ),
    };
  }
  const [encryption, publicAccess, lifecycle] = await Promise.all([
    local ? undefined : encryptionOf(s3, bucket),
    local ? undefined : publicAccessOf(s3, bucket),
    lifecycleOf(s3, bucket, prefix),
  ]);
  return {
    ...plan,
    entries: [
      { setting: 'bucket', action: 'exists' },
      guarded('encryption', encryption ?? { action: 'create' }),
      guarded('public access', publicAccess ?? { action: 'create' }),
      lifecycle,
    ],
  };
}

/** Carries out a plan in order; a failure is recorded on its entry (the bucket's stops the rest). */
export async function applyBucketPlan(s3: S3Client, plan: BucketPlan, { fix = false, region = '' } = {}) {
  const entries: BucketPlanEntry[] = [];
  let stopped: string | undefined;
  for (const entry of plan.entries) {
    if (stopped) {
      entries.push({ ...entry, outcome: 'failed', error: stopped });
      continue;
    }
    if (entry.action === 'skip' || entry.action === 'exists' || (entry.action === 'drift' && !fix)) {
      const outcome = { skip: 'skipped', exists: 'unchanged', drift: 'drift', create: 'created' } as const;
      entries.push({ ...entry, outcome: outcome[entry.action] });
      continue;
    }
    try {
      await apply(s3, plan, entry.setting, region);
      entries.push({ ...entry, outcome: entry.action === 'create' ? 'created' : 'fixed' });
    } catch (error) {
      const { name, message } = error as Error;
      if (entry.setting === 'bucket') stopped = `the bucket could not be created`;
      entries.push({ ...entry, outcome: 'failed', error: bucketError(plan.bucket, name, message) });
    }
  }
  return { ...plan, entries };
}

async function apply(s3: S3Client, plan: BucketPlan, setting: BucketSetting, region: string): Promise<void> {
  const Bucket = plan.bucket;
  if (setting === 'bucket') {
    // us-east-1 is the one region S3 refuses to be named as a location.
    const input: CreateBucketCommandInput = {
      Bucket,
      ...(region && region !== 'us-east-1'
        ? { CreateBucketConfiguration: { LocationConstraint: region as never } }
        : {}),
    };
    try {
      await s3.send(new CreateBucketCommand(input));
    } catch (error) {
      // Made by this account between the plan and now (a second provision): it is there.
      if ((error as Error).name !== 'BucketAlreadyOwnedByYou') throw error;
    }
  } else if (setting === 'encryption') {
    await s3.send(new PutBucketEncryptionCommand({ Bucket, ServerSideEncryptionConfiguration: SSE_S3 }));
  } else if (setting === 'public access') {
    await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: PUBLIC_ACCESS_BLOCKED }));
  } else {
    const others = (await lifecycleRules(s3, Bucket)).filter(({ ID }) => ID !== LIFECYCLE_RULE_ID);
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket,
        LifecycleConfiguration: { Rules: [...others, orphanRule(plan.prefix)] },
      }),
    );
  }
}

/** HeadBucket: 404 is missing; 403 is a bucket of another account (names are global) or no right to it. */
async function bucketExists(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (error as Error).name === 'NotFound') return false;
    if (status === 403) throw new EnvironmentError(bucketError(bucket, 'Forbidden', ''));
    throw error;
  }
}

function bucketError(bucket: string, name: string, message: string): string {
  if (name === 'BucketAlreadyExists' || name === 'Forbidden') {
    return `bucket ${bucket} exists and is not this account's, or these credentials may not read it (S3's names are one namespace for all of AWS): pass another name with --bucket, and set LARGE_PAYLOAD_BUCKET to it`;
  }
  return `${name}: ${message}`;
}

async function encryptionOf(s3: S3Client, Bucket: string): Promise<Omit<BucketPlanEntry, 'setting'> | undefined> {
  try {
    const { ServerSideEncryptionConfiguration } = await s3.send(new GetBucketEncryptionCommand({ Bucket }));
    const algorithms = (ServerSideEncryptionConfiguration?.Rules ?? []).map(
      (rule) => rule.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
    );
    if (algorithms.length === 0) return undefined;
    return algorithms.every(Boolean) ? { action: 'exists' } : { action: 'drift', details: 'a rule without a default' };
  } catch (error) {
    if ((error as Error).name === 'ServerSideEncryptionConfigurationNotFoundError') return undefined;
    throw error;
  }
}

async function publicAccessOf(s3: S3Client, Bucket: string): Promise<Omit<BucketPlanEntry, 'setting'> | undefined> {
  try {
    const { PublicAccessBlockConfiguration: actual = {} } = await s3.send(new GetPublicAccessBlockCommand({ Bucket }));
    const open = Object.keys(PUBLIC_ACCESS_BLOCKED).filter((key) => actual[key as keyof typeof actual] !== true);
    return open.length ? { action: 'drift', details: `${open.join(', ')}: false → true` } : { action: 'exists' };
  } catch (error) {
    if ((error as Error).name === 'NoSuchPublicAccessBlockConfiguration') return undefined;
    throw error;
  }
}

async function lifecycleOf(s3: S3Client, bucket: string, prefix: string): Promise<BucketPlanEntry> {
  const setting = 'lifecycle rule';
  const ours = (await lifecycleRules(s3, bucket)).find(({ ID }) => ID === LIFECYCLE_RULE_ID);
  if (!ours) return { setting, action: 'create' };
  const wanted = orphanRule(prefix);
  const fields = ['Status', 'Filter', 'Expiration', 'AbortIncompleteMultipartUpload'] as const;
  const differ = fields.filter((field) => !isDeepStrictEqual(comparable(ours[field]), comparable(wanted[field])));
  if (differ.length === 0) return { setting, action: 'exists' };
  const shown = (value: unknown) => JSON.stringify(value ?? null);
  return {
    setting,
    action: 'drift',
    details: differ.map((field) => `${field}: ${shown(ours[field])} → ${shown(wanted[field])}`).join('; '),
  };
}

/** A field as S3 answers it, without the keys it adds empty. */
function comparable(value: unknown): unknown {
  return value && typeof value === 'object'
    ? Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined))
    : value;
}

async function lifecycleRules(s3: S3Client, Bucket: string): Promise<LifecycleRule[]> {
  try {
    return (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules ?? [];
  } catch (error) {
    if ((error as Error).name === 'NoSuchLifecycleConfiguration') return [];
    throw error;
  }
}

/** How many settings applying the plan would change. */
export function bucketWrites(plan: BucketPlan | undefined, fix?: boolean): number {
  return (plan?.entries ?? []).filter(({ action }) => action === 'create' || (action === 'drift' && fix)).length;
}
