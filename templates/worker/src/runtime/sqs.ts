import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';

export interface SqsSettings {
  region: string;
  /** A local emulator such as fauxqs; unset means real AWS. */
  endpoint?: string | undefined;
  /** A profile of ~/.aws/config, instead of AWS_PROFILE. */
  profile?: string | undefined;
}

/**
 * AWS client settings for real AWS (default credential chain) or for a local emulator, which
 * needs no account: any credentials do, so placeholders are used when none are set.
 */
export function awsClientConfig({ region, endpoint, profile }: SqsSettings) {
  const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || profile);
  return {
    region,
    ...(profile ? { profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(endpoint && !hasCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  };
}

export function createSqsClient(settings: SqsSettings): SQSClient {
  return new SQSClient(awsClientConfig(settings));
}

/** The URL of a queue by its full name, with the fix in the error when it does not exist. */
export async function resolveQueueUrl(sqs: SQSClient, fullName: string): Promise<string> {
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: fullName }));
    if (!QueueUrl) throw new Error('SQS returned no URL');
    return QueueUrl;
  } catch (error) {
    if (
      (error as Error).name === 'QueueDoesNotExist' ||
      (error as Error).name === 'AWS.SimpleQueueService.NonExistentQueue'
    ) {
      throw new QueueNotFoundError(
        `SQS queue "${fullName}" does not exist: \`npm run dev\` runs a local SQS that has it; in AWS, create it and its dead-letter queue "err-${fullName}" (check APP_ENV and BE_WORKER_USER if the name looks wrong)`,
      );
    }
    throw error;
  }
}

export class QueueNotFoundError extends Error {
  override name = 'QueueNotFoundError';
}
