// Chords and groups with Debian's Celery 5.2 (SQS's Query protocol, local-aws-sqs) on its Redis result backend.
import { chordSuite } from './chords-suite.ts';

chordSuite('query');
