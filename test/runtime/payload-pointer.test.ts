// The pointer format of AWS's SQS extended clients, both directions. The fixtures are written here
// from the clients' documented constants and what their source does (amazon-sqs-java-extended-
// client-lib, amazon-sqs-python-extended-client-lib, payload-offloading-java-common-lib):
// - Java serialises the pointer with Jackson's default typing: ["<class>",{"s3BucketName":…,"s3Key":…}], no spaces;
// - Python with json.dumps: ["<class>", {"s3BucketName": …, "s3Key": …}] (", " and ": " separators);
// - both add the attribute ExtendedPayloadSize (or, legacy, SQSLargePayloadSize), DataType Number,
//   the body's size in UTF-8 bytes; their receive asks for both names and takes the first present;
// - their receive rewrites the receipt handle to -..s3BucketName..-<bucket>-..s3BucketName..--..s3Key..-<key>-..s3Key..-<handle>
//   and cuts the pointer back out of it on delete.
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  LEGACY_POINTER_CLASS,
  LEGACY_SIZE_ATTRIBUTE,
  PayloadPointerError,
  POINTER_ATTRIBUTES,
  POINTER_CLASS,
  pointerMessage,
  readPointer,
  SIZE_ATTRIBUTE,
} from '../../templates/worker/src/runtime/payload-pointer.ts';
import { checkKeyPrefix, exceeds, thresholdFor } from '../../templates/worker/src/runtime/payload-store.ts';

const number = (value: string) => ({ DataType: 'Number', StringValue: value });

/** What the Java client sends (Jackson, default typing). */
const javaBody = (bucket: string, key: string, tag = POINTER_CLASS) =>
  `["${tag}",{"s3BucketName":"${bucket}","s3Key":"${key}"}]`;
/** What the Python client sends (json.dumps, default separators). */
const pythonBody = (bucket: string, key: string, tag = POINTER_CLASS) =>
  `["${tag}", {"s3BucketName": "${bucket}", "s3Key": "${key}"}]`;

/** The receipt handle the extended clients hand their caller, and how they read it back (our own rewrite of that logic). */
const MARKERS = { bucket: '-..s3BucketName..-', key: '-..s3Key..-' };
function theirReceiptHandle(handle: string, bucket: string, key: string): string {
  return `${MARKERS.bucket}${bucket}${MARKERS.bucket}${MARKERS.key}${key}${MARKERS.key}${handle}`;
}
function between(handle: string, marker: string): string {
  const first = handle.indexOf(marker);
  return handle.slice(first + marker.length, handle.indexOf(marker, first + marker.length));
}
/** The Java client's original-handle cut: after the second key marker. */
function javaOriginalHandle(modified: string): string {
  const second = modified.indexOf(MARKERS.key, modified.indexOf(MARKERS.key) + 1);
  return modified.slice(second + MARKERS.key.length);
}

/** How their receive reads a pointer message: the attribute first, then the body as [class, {fields}]. */
function theirRead(message: Pick<Message, 'Body' | 'MessageAttributes'>): { bucket: string; key: string } | undefined {
  const attributes = message.MessageAttributes ?? {};
  if (!(SIZE_ATTRIBUTE in attributes) && !(LEGACY_SIZE_ATTRIBUTE in attributes)) return undefined;
  const parsed = JSON.parse((message.Body ?? '').replace(LEGACY_POINTER_CLASS, POINTER_CLASS));
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[1] !== 'object') throw new Error('not a pointer');
  // Jackson with default typing resolves the class from the first element: only this name is accepted.
  if (parsed[0] !== POINTER_CLASS) throw new Error(`Jackson cannot resolve ${parsed[0]}`);
  return { bucket: parsed[1].s3BucketName, key: parsed[1].s3Key };
}

describe('pointer messages we write', () => {
  const spread = [
    { bucket: 'b', key: 'k', size: 0 },
    { bucket: 'my-bucket.example', key: 'payloads/0f8fad5b-d9cb-469f-a165-70867728950e', size: 5 * 1024 * 1024 },
    { bucket: 'x'.repeat(63), key: `${'p/'.repeat(494)}${crypto.randomUUID()}`, size: 52_428_800 },
    { bucket: 'b1', key: 'ünïcödé/ключ', size: 1 },
  ];

  it.each(spread)('are byte for byte what the Java client writes, and read as theirs ($size bytes)', (pointer) => {
    const { body, attributes } = pointerMessage(pointer);
    expect(body).toBe(javaBody(pointer.bucket, pointer.key));
    expect(attributes).toEqual({ [SIZE_ATTRIBUTE]: number(String(pointer.size)) });
    expect(theirRead({ Body: body, MessageAttributes: attributes })).toEqual({
      bucket: pointer.bucket,
      key: pointer.key,
    });
    expect(readPointer({ Body: body, MessageAttributes: attributes })).toEqual(pointer);
  });

  it('survive the receipt-handle rewrite of the extended clients (the pointer and the handle come back out)', () => {
    const handle = 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a+Gh8tZ4ZvRsmNs1a/AbCd==';
    const pointer = { bucket: 'large-payloads', key: `tasks/${crypto.randomUUID()}`, size: 9 };
    const { body } = pointerMessage(pointer);
    const read = theirRead({ Body: body, MessageAttributes: { [SIZE_ATTRIBUTE]: number('9') } });
    const modified = theirReceiptHandle(handle, read?.bucket ?? '', read?.key ?? '');
    expect(between(modified, MARKERS.bucket)).toBe(pointer.bucket);
    expect(between(modified, MARKERS.key)).toBe(pointer.key);
    expect(javaOriginalHandle(modified)).toBe(handle);
    // Python cuts at the last '-': a real receipt handle (base64) has none.
    expect(modified.split('-').at(-1)).toBe(handle);
  });

  it('refuse a bucket or key the receipt-handle markers would break, and a negative size', () => {
    expect(() => pointerMessage({ bucket: 'b', key: 'a-..s3Key..-b', size: 1 })).toThrow(PayloadPointerError);
    expect(() => pointerMessage({ bucket: '-..s3BucketName..-', key: 'k', size: 1 })).toThrow(PayloadPointerError);
    expect(() => pointerMessage({ bucket: 'b', key: '', size: 1 })).toThrow(PayloadPointerError);
    expect(() => pointerMessage({ bucket: 'b', key: 'k', size: -1 })).toThrow(PayloadPointerError);
  });
});

describe('pointer messages they write', () => {
  it.each([
    ['Java', javaBody('bucket-1', '7c9e6679-7425-40de-944b-e07fc1f90ae7'), SIZE_ATTRIBUTE],
    ['Python', pythonBody('bucket-1', '7c9e6679-7425-40de-944b-e07fc1f90ae7'), SIZE_ATTRIBUTE],
    [
      'Python, legacy attribute',
      pythonBody('bucket-1', '7c9e6679-7425-40de-944b-e07fc1f90ae7', LEGACY_POINTER_CLASS),
      LEGACY_SIZE_ATTRIBUTE,
    ],
    [
      'Java v1',
      javaBody('bucket-1', '7c9e6679-7425-40de-944b-e07fc1f90ae7', LEGACY_POINTER_CLASS),
      LEGACY_SIZE_ATTRIBUTE,
    ],
  ])('are read: %s', (_who, body, attribute) => {
    const message = { Body: body, MessageAttributes: { [attribute]: number('1048577') } };
    expect(readPointer(message)).toEqual({
      bucket: 'bucket-1',
      key: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      size: 1_048_577,
    });
  });

  it('is only a pointer when the attribute says so (a Celery body that looks like one stays a body)', () => {
    expect(readPointer({ Body: javaBody('b', 'k') })).toBeUndefined();
    expect(readPointer({ Body: javaBody('b', 'k'), MessageAttributes: { other: number('1') } })).toBeUndefined();
  });

  it('prefers the current attribute when both are present, as their receive does', () => {
    const message = {
      Body: javaBody('b', 'k'),
      MessageAttributes: { [LEGACY_SIZE_ATTRIBUTE]: number('1'), [SIZE_ATTRIBUTE]: number('2') },
    };
    expect(readPointer(message)?.size).toBe(2);
  });

  it.each([
    ['not JSON', 'eyJib2R5Ijo'],
    ['not a pair', '["software.amazon.payloadoffloading.PayloadS3Pointer"]'],
    ['an unknown class', '["x.Y",{"s3BucketName":"b","s3Key":"k"}]'],
    ['no key', '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b"}]'],
    ['fields not an object', '["software.amazon.payloadoffloading.PayloadS3Pointer",null]'],
  ])('throws PayloadPointerError when the attribute is there but the body is %s', (_what, body) => {
    expect(() => readPointer({ Body: body, MessageAttributes: { [SIZE_ATTRIBUTE]: number('3') } })).toThrow(
      PayloadPointerError,
    );
  });

  it('reads a size attribute that is not a number as size 0 (the object says its own size)', () => {
    expect(readPointer({ Body: javaBody('b', 'k'), MessageAttributes: { [SIZE_ATTRIBUTE]: number('x') } })?.size).toBe(
      0,
    );
  });

  it('asks for both attribute names on receive', () => {
    expect(POINTER_ATTRIBUTES).toEqual(['ExtendedPayloadSize', 'SQSLargePayloadSize']);
  });
});

describe('thresholds and sizes', () => {
  it.each([
    [undefined, 1_048_576, 1_048_576],
    ['always', 1_048_576, 0],
    [1, 262_144, 1],
    [262_144, 262_144, 262_144],
    [10_000_000, 1_048_576, 1_048_576],
  ] as const)('threshold %s for a queue of %d bytes is %d', (setting, queueMax, expected) => {
    expect(thresholdFor(setting, queueMax)).toBe(expected);
  });

  it('counts UTF-8 bytes, as SQS and the extended clients do', () => {
    expect(exceeds('é'.repeat(100), 199)).toBe(true);
    expect(exceeds('é'.repeat(100), 200)).toBe(false);
    expect(exceeds('a'.repeat(100), 99)).toBe(true);
    expect(exceeds('a'.repeat(100), 100)).toBe(false);
    expect(exceeds('€', 2)).toBe(true);
    expect(exceeds('x', 0)).toBe(true);
  });

  it('accepts the key prefixes the Java client accepts, and only those', () => {
    for (const ok of ['', 'payloads/', 'a_b-c.d/e/']) expect(checkKeyPrefix(ok)).toBeUndefined();
    for (const bad of ['.x', '/x', 'a..b', 'a b', 'é', 'x'.repeat(989)]) expect(checkKeyPrefix(bad)).toBeDefined();
  });
});
