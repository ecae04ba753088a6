// Results with Debian's Celery 5.2 (SQS's Query protocol, local-aws-sqs) and a real redis-server.
import { resultsInterop } from './results-suite.ts';

resultsInterop('query');
