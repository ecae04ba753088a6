// The claim-check format of AWS's SQS extended clients (Java and Python): the body lives in S3, the
// SQS message carries a JSON pointer to it and a Number attribute with the body's size in UTF-8
// bytes. Written here byte for byte as the Java client writes it, so both clients read ours as theirs.
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

/** The type tag Jackson puts first in the pointer array; the Java client refuses any other. */
export const POINTER_CLASS = 'software.amazon.payloadoffloading.PayloadS3Pointer';
/** The type tag of version 1 of the Java client; still read (the Java client renames it on receive). */
export const LEGACY_POINTER_CLASS = 'com.amazon.sqs.javamessaging.MessageS3Pointer';
/** The attribute that marks a pointer message; its value is the stored body's size in bytes. */
export const SIZE_ATTRIBUTE = 'ExtendedPayloadSize';
/** The same attribute as version 1 of the Java client (and Python with use_legacy_attribute) names it. */
export const LEGACY_SIZE_ATTRIBUTE = 'SQSLargePayloadSize';
/** Both names: a receive must ask for them (SQS returns no message attribute it was not asked for). */
export const POINTER_ATTRIBUTES: readonly string[] = [SIZE_ATTRIBUTE, LEGACY_SIZE_ATTRIBUTE];
/**
 * The extended clients keep one of SQS's ten message attributes for the size attribute, and refuse
 * to offload a message that has more than nine of its own.
 */
export const MAX_OWN_ATTRIBUTES = 9;
/**
 * The extended clients' receipt handles embed the pointer between these markers; a bucket or key
 * containing one would be misread by them, so ours never do.
 */
export const RECEIPT_HANDLE_MARKERS: readonly string[] = ['-..s3BucketName..-', '-..s3Key..-'];
/** The Java client's limit on a key prefix (1024, S3's key limit, minus a UUID). */
export const MAX_KEY_PREFIX_LENGTH = 1024 - 36;

export interface PayloadPointer {
  bucket: string;
  key: string;
  /** The stored body's size in UTF-8 bytes, as the size attribute says (0 when it says nothing usable). */
  size: number;
}

/** A message whose size attribute says "pointer" but whose body is not one. */
export class PayloadPointerError extends Error {
  override name = 'PayloadPointerError';
}

/** The SQS body and attributes that point at a stored body. */
export function pointerMessage(pointer: PayloadPointer): {
  body: string;
  attributes: Record<string, MessageAttributeValue>;
} {
  checkPointerPart('bucket', pointer.bucket);
  checkPointerPart('key', pointer.key);
  if (!Number.isSafeInteger(pointer.size) || pointer.size < 0) {
    throw new PayloadPointerError(`a payload size must be a whole number of bytes, got ${pointer.size}`);
  }
  // Jackson's output for its default typing: [type, {fields in declaration order}], no spaces.
  const body = JSON.stringify([POINTER_CLASS, { s3BucketName: pointer.bucket, s3Key: pointer.key }]);
  return { body, attributes: { [SIZE_ATTRIBUTE]: { DataType: 'Number', StringValue: String(pointer.size) } } };
}

/** The pointer a received message carries, undefined when none; throws PayloadPointerError when its attribute says pointer but its body is not one. */
export function readPointer(message: Pick<Message, 'Body' | 'MessageAttributes'>): PayloadPointer | undefined {
  const attribute = sizeAttribute(message.MessageAttributes);
  if (!attribute) return undefined;
  const body = message.Body ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PayloadPointerError(`the message has ${attribute.name} but its body is not JSON`);
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[1] !== 'object' || parsed[1] === null) {
    throw new PayloadPointerError(`the message has ${attribute.name} but its body is not a [class, pointer] pair`);
  }
  const [tag, fields] = parsed as [unknown, Record<string, unknown>];
  if (tag !== POINTER_CLASS && tag !== LEGACY_POINTER_CLASS) {
    throw new PayloadPointerError(`the message's pointer has the unknown class ${JSON.stringify(tag)}`);
  }
  const { s3BucketName: bucket, s3Key: key } = fields;
  if (typeof bucket !== 'string' || bucket === '' || typeof key !== 'string' || key === '') {
    throw new PayloadPointerError(`the message's pointer lacks s3BucketName or s3Key`);
  }
  const size = Number(attribute.value);
  return { bucket, key, size: Number.isSafeInteger(size) && size >= 0 ? size : 0 };
}

/** Whether the message is marked as a pointer (by either attribute name). */
export function isPointerMessage(message: Pick<Message, 'MessageAttributes'>): boolean {
  return sizeAttribute(message.MessageAttributes) !== undefined;
}

function sizeAttribute(
  attributes: Message['MessageAttributes'],
): { name: string; value: string | undefined } | undefined {
  for (const name of POINTER_ATTRIBUTES) {
    const attribute = attributes?.[name];
    if (attribute) return { name, value: attribute.StringValue };
  }
  return undefined;
}

function checkPointerPart(what: string, value: string): void {
  if (value === '' || RECEIPT_HANDLE_MARKERS.some((marker) => value.includes(marker))) {
    throw new PayloadPointerError(`a payload ${what} must be non-empty and free of the extended clients' markers`);
  }
}
