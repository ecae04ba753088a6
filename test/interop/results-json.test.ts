// Results with Celery >= 5.5 (the virtualenv, SQS's JSON protocol, fauxqs) and a real redis-server.
import { resultsInterop } from './results-suite.ts';

resultsInterop('json');
