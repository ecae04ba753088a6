// A current Celery (>= 5.5, kombu's JSON-protocol SQS transport) against fauxqs, from the virtualenv
// .ci/celery-venv makes.
import { interop } from './suite.ts';

interop('json');
