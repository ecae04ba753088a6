// Chords and groups with a current Celery (5.6, SQS's JSON protocol, fauxqs) on its Redis result backend.
import { chordSuite } from './chords-suite.ts';

chordSuite('json');
