// The large-payloads bucket in `be-worker provision`: against moto's server (S3, STS, SQS) through a
// proxy that records what the AWS SDK sent, checked field by field as S3 receives it (moto accepts
// much S3 would refuse); and in env local against fauxqs, the emulator `npm run dev` runs.
import {
  type CreateBucketCommandInput,
  GetBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  type PutBucketEncryptionCommandInput,
  PutBucketLifecycleConfigurationCommand,
  type PutBucketLifecycleConfigurationCommandInput,
  PutPublicAccessBlockCommand,
  type PutPublicAccessBlockCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport } from '../src/cli/provision-output.ts';
import { EnvironmentError, UserError } from '../src/errors.ts';
import { iamPolicies } from '../src/iam-policy.ts';
import { LIFECYCLE_RULE_ID, ORPHAN_EXPIRATION_DAYS } from '../src/payload-bucket.ts';
import { type ProvisionOptions, provision, writes } from '../src/provision.ts';
import { type MotoServer, startMoto } from './support/moto.ts';
import { type RecordedCall, type RecordingProxy, startRecordingProxy } from './support/recording-proxy.ts';

const ACCOUNT = '123456789012'; // moto's
let moto: MotoServer;
let proxy: RecordingProxy;

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startRecordingProxy(moto.endpoint);
}, 40_000);
afterAll(async () => {
  await proxy?.close();
  moto?.stop();
});

function options(
  env: string,
  region: string,
  payloads: ProvisionOptions['payloads'],
  more: Partial<ProvisionOptions> = {},
) {
  return {
    worker: 'shop',
    queues: [{ queue: 'orders', task: 'ship' }],
    env,
    user: 'ann',
    region,
    endpoint: proxy.endpoint,
    payloads,
    ...more,
  } satisfies ProvisionOptions;
}

const s3 = (region: string) =>
  new S3Client({
    region,
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });

/** The S3 calls, as "PUT /bucket?lifecycle". */
function s3Calls(calls: RecordedCall[]): string[] {
  return calls
    .filter(({ service }) => service === 's3')
    .map(({ method, path, query }) => {
      const keys = [...query.keys()].filter((key) => key !== 'x-id');
      return `${method} ${path.replace(/\/$/, '')}${keys.length ? `?${keys.join('&')}` : ''}`;
    });
}
const writesOf = (calls: RecordedCall[]) => s3Calls(calls).filter((call) => !/^(GET|HEAD) /.test(call));

/** The XML document S3 received, its namespace aside. */
function sent(calls: RecordedCall[], call: string, root: string): unknown {
  const found = calls.find((each) => s3Calls([each])[0] === call);
  expect(found, call).toBeDefined();
  const { xmlns: _, ...document } = (found?.body[root] ?? {}) as Record<string, unknown>;
  return document;
}

/**
 * An SDK input's document as S3's XML spells it: a list's members under the member's name (Rules →
 * Rule, one member as itself), every value as text.
 */
function asXml(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 1 ? asXml(value[0]) : value.map(asXml);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, field]) => [key === 'Rules' ? 'Rule' : key, asXml(field)]),
    );
  }
  return String(value);
}

const expectedRule = (prefix: string) =>
  ({
    ID: LIFECYCLE_RULE_ID,
    Status: 'Enabled',
    Filter: { Prefix: prefix },
    Expiration: { Days: 30 },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
  }) satisfies LifecycleRule;

describe('the large-payloads bucket in be-worker provision (moto)', () => {
  it.each([
    { env: 'dev', region: 'eu-central-1', prefix: 'payloads/', bucket: undefined },
    { env: 'prod', region: 'us-east-1', prefix: '', bucket: 'team.chosen-name-1' },
    { env: 'qa1', region: 'ap-southeast-2', prefix: 'a/b.c_d-/', bucket: 'x0y' },
  ])(
    'env $env, $region, prefix "$prefix": created encrypted, closed, with the orphan rule; a rerun sends no write',
    async ({ env, region, prefix, bucket }) => {
      const name = bucket ?? `${env}-shop-large-payloads-${ACCOUNT}`;
      proxy.take();
      const planned = await provision({ ...options(env, region, { bucket, prefix }), dryRun: true });
      expect(planned.bucket?.entries.map(({ setting, action }) => `${setting}: ${action}`)).toEqual([
        'bucket: create',
        'encryption: create',
        'public access: create',
        'lifecycle rule: create',
      ]);
      expect(writes(planned)).toBe(2 + 4);
      expect(writesOf(proxy.take())).toEqual([]);

      const report = await provision(options(env, region, { bucket, prefix }));
      expect(report.bucket?.bucket).toBe(name);
      expect(report.bucket?.entries.map(({ setting, outcome }) => `${setting}: ${outcome}`)).toEqual([
        'bucket: created',
        'encryption: created',
        'public access: created',
        'lifecycle rule: created',
      ]);
      const calls = proxy.take();
      expect(writesOf(calls)).toEqual([
        `PUT /${name}`,
        `PUT /${name}?encryption`,
        `PUT /${name}?publicAccessBlock`,
        `PUT /${name}?lifecycle`,
      ]);
      const createBucket = {
        Bucket: name,
        ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
      } satisfies CreateBucketCommandInput;
      const created = calls.find((call) => s3Calls([call])[0] === `PUT /${name}`);
      if (createBucket.CreateBucketConfiguration) {
        expect(sent(calls, `PUT /${name}`, 'CreateBucketConfiguration')).toEqual(
          asXml(createBucket.CreateBucketConfiguration),
        );
      } else {
        // us-east-1 must not be named: S3 refuses its own default as a LocationConstraint.
        expect(created?.body).toEqual({});
      }
      const encryption = {
        Bucket: name,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      } satisfies PutBucketEncryptionCommandInput;
      expect(sent(calls, `PUT /${name}?encryption`, 'ServerSideEncryptionConfiguration')).toEqual(
        asXml(encryption.ServerSideEncryptionConfiguration),
      );
      const publicAccess = {
        Bucket: name,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
      } satisfies PutPublicAccessBlockCommandInput;
      expect(sent(calls, `PUT /${name}?publicAccessBlock`, 'PublicAccessBlockConfiguration')).toEqual(
        asXml(publicAccess.PublicAccessBlockConfiguration),
      );
      const lifecycle = {
        Bucket: name,
        LifecycleConfiguration: { Rules: [expectedRule(prefix)] },
      } satisfies PutBucketLifecycleConfigurationCommandInput;
      expect(sent(calls, `PUT /${name}?lifecycle`, 'LifecycleConfiguration')).toEqual(
        asXml(lifecycle.LifecycleConfiguration),
      );
      expect(formatReport(report)).toContain(`The worker finds it by LARGE_PAYLOAD_BUCKET=${name}`);

      const again = await provision(options(env, region, { bucket, prefix }));
      expect(again.bucket?.entries.map(({ outcome }) => outcome)).toEqual([
        'unchanged',
        'unchanged',
        'unchanged',
        'unchanged',
      ]);
      expect(writesOf(proxy.take())).toEqual([]);
      // (moto's queues drift on their RedriveAllowPolicy, which it does not keep: not the bucket's business.)
      expect(formatReport(again)).toMatch(/^public access {3}unchanged\nlifecycle rule {2}unchanged$/m);
    },
    60_000,
  );

  it('a changed rule and opened public access are drift, reported until --fix; the bucket’s other rules are kept', async () => {
    const region = 'eu-west-3';
    const target = options('drift', region, { bucket: 'drift-bucket-1', prefix: 'p/' });
    await provision(target);
    const client = s3(region);
    const theirs = {
      ID: 'team-logs',
      Status: 'Enabled',
      Filter: { Prefix: 'logs/' },
      Expiration: { Days: 3 },
    } satisfies LifecycleRule;
    await client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'drift-bucket-1',
        LifecycleConfiguration: { Rules: [theirs, { ...expectedRule('p/'), Expiration: { Days: 7 } }] },
      }),
    );
    await client.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'drift-bucket-1',
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: false,
          RestrictPublicBuckets: true,
        },
      }),
    );
    proxy.take();
    const reported = await provision(target);
    expect(reported.bucket?.entries.map(({ setting, outcome, details }) => [setting, outcome, details])).toEqual([
      ['bucket', 'unchanged', undefined],
      ['encryption', 'unchanged', undefined],
      ['public access', 'drift', 'BlockPublicPolicy: false → true'],
      ['lifecycle rule', 'drift', 'Expiration: {"Days":7} → {"Days":30}'],
    ]);
    expect(writesOf(proxy.take())).toEqual([]);
    expect(formatReport(reported)).toContain('run again with --fix');

    const fixed = await provision({ ...target, fix: true });
    expect(fixed.bucket?.entries.map(({ outcome }) => outcome)).toEqual(['unchanged', 'unchanged', 'fixed', 'fixed']);
    const calls = proxy.take();
    expect(writesOf(calls)).toEqual(['PUT /drift-bucket-1?publicAccessBlock', 'PUT /drift-bucket-1?lifecycle']);
    const { Rules } = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'drift-bucket-1' }));
    expect(Rules?.map(({ ID, Expiration }) => [ID, Expiration?.Days])).toEqual([
      ['team-logs', 3],
      [LIFECYCLE_RULE_ID, ORPHAN_EXPIRATION_DAYS],
    ]);
  }, 60_000);

  it('a bucket of another account (403) is one sentence naming --bucket and LARGE_PAYLOAD_BUCKET', async () => {
    proxy.inject({
      matches: ({ service, method, path }) => service === 's3' && method === 'HEAD' && path.startsWith('/taken-name'),
      status: 403,
      body: '',
      times: 1,
    });
    const refused = provision(options('dev', 'eu-central-1', { bucket: 'taken-name', prefix: '' }));
    await expect(refused).rejects.toThrow(EnvironmentError);
    await expect(refused).rejects.toThrow(
      "bucket taken-name exists and is not this account's, or these credentials may not read it (S3's names are one namespace for all of AWS): pass another name with --bucket, and set LARGE_PAYLOAD_BUCKET to it",
    );
  });

  it.each([['Bad_Name'], ['ab'], ['a'.repeat(64)], ['double--hyphen'], ['dot.-hyphen'], ['two..dots']])(
    'refuses the bucket name %s before any call',
    async (bucket) => {
      proxy.take();
      await expect(provision(options('dev', 'eu-central-1', { bucket, prefix: '' }))).rejects.toThrow(UserError);
      expect(s3Calls(proxy.take())).toEqual([]);
    },
  );

  it('iam-policy: the three object actions on the prefix only', () => {
    const policies = iamPolicies({
      env: 'prod',
      region: 'cn-north-1',
      account: ACCOUNT,
      queues: [{ queue: 'orders', task: 'ship' }],
      payloads: { bucket: 'prod-shop-large-payloads-123456789012', prefix: 'payloads/' },
    });
    expect(policies.worker.Statement.at(-1)).toEqual({
      Sid: 'LargePayloadObjects',
      Effect: 'Allow',
      Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'],
      Resource: ['arn:aws-cn:s3:::prod-shop-large-payloads-123456789012/payloads/*'],
    });
    expect(JSON.stringify(policies.keda)).not.toContain('s3');
    const without = iamPolicies({
      env: 'prod',
      region: 'eu-west-1',
      account: ACCOUNT,
      queues: [{ queue: 'orders', task: 'ship' }],
    });
    expect(JSON.stringify(without)).not.toContain('s3');
  });
});

describe('the large-payloads bucket in env local (fauxqs)', () => {
  let fauxqs: FauxqsServer;
  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
  });
  afterAll(async () => {
    await fauxqs?.stop();
  });

  it('is <worker>-large-payloads with its lifecycle rule; encryption and public access are not the emulator’s; a rerun changes nothing', async () => {
    const local = { ...options('local', 'us-east-1', { prefix: 'big/' }), endpoint: `http://127.0.0.1:${fauxqs.port}` };
    const report = await provision(local);
    expect(report.bucket?.bucket).toBe('shop-large-payloads');
    expect(report.bucket?.entries.map(({ setting, outcome }) => `${setting}: ${outcome}`)).toEqual([
      'bucket: created',
      'encryption: skipped',
      'public access: skipped',
      'lifecycle rule: created',
    ]);
    const { Rules } = await new S3Client({
      region: 'us-east-1',
      endpoint: local.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    }).send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'shop-large-payloads' }));
    expect(Rules).toEqual([expectedRule('big/')]);
    const again = await provision(local);
    expect(again.bucket?.entries.map(({ outcome }) => outcome)).toEqual([
      'unchanged',
      'skipped',
      'skipped',
      'unchanged',
    ]);
    expect(writes(again)).toBe(0);
  }, 30_000);
});
