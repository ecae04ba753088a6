// Debian's Celery 5.2 (kombu 5.2, botocore 1.29) speaks SQS's Query protocol: against local-aws-sqs,
// behind the proxy that adds the QueueUrl kombu 5.2 leaves out (test/support/aws-like-sqs-server.ts).
import { interop } from './suite.ts';

interop('query');
