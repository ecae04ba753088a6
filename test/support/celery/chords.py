"""The Python side of test/interop/chords-suite.ts: interop.py's app (with RESULT_BACKEND, Redis as its
result backend), two tasks for chords, and a producer of chords.

  python chords.py '<JSON list of operations>' prints, as JSON, what each operation gives:
  {"chord": [signature, ...], "body": signature}  -> {"group": id, "header": [id, ...], "body": id}
  {"result": id, "timeout": s}                    -> {"state", "value"} or {"state", "exc_type", "exc_module", "message"}
a signature being {"task", "args", "id", "link_error": signature}.
"""
import json
import sys
import time

from celery import chord

import interop
from interop import record

app = interop.app


@app.task(bind=True, name='py.collect')
def collect(self, results, *extra):
    record(self, [results, *extra])
    return [results, *extra]


@app.task(bind=True, name='py.last')
def last(self, value):
    """Ends only once every other part of its chord is counted: the chord's last part."""
    backend = app.backend
    joined, size = (backend.get_key_for_group(self.request.group, end) for end in ('.j', '.s'))
    while not (backend.client.get(size) and backend.client.zcard(joined) == int(backend.client.get(size)) - 1):
        time.sleep(0.1)
    record(self, value)
    return value


def signature(spec):
    sig = app.signature(spec['task'], args=spec.get('args', ()))
    if 'id' in spec:
        sig.set(task_id=spec['id'])
    if 'link_error' in spec:
        sig.set(link_error=[signature(spec['link_error'])])
    return sig


def run(operation):
    if 'chord' in operation:
        header = [signature(spec) for spec in operation['chord']]
        body = signature(operation['body'])
        result = chord(header, body).apply_async()
        parent = result.parent
        return {'group': parent.id, 'header': [part.id for part in parent.results], 'body': result.id}
    result = app.AsyncResult(operation['result'])
    value = result.get(timeout=operation['timeout'], propagate=False)
    if isinstance(value, BaseException):
        return {'state': result.state, 'exc_type': type(value).__name__, 'exc_module': type(value).__module__,
                'message': str(value)}
    return {'state': result.state, 'value': value}


if __name__ == '__main__':
    print(json.dumps([run(operation) for operation in json.loads(sys.argv[1])]))
