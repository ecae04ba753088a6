"""Sends tasks as a Python producer does: python send.py '<JSON list of operations>'.

An operation is {"send_task": name, "args", "kwargs", "options", "link", "link_error"} or
{"chain": [signature, ...], "options", "link_error"}, a signature being {"task", "args", "kwargs",
"immutable"}. The option "expires_ago": N sends an expires N seconds in the past. Prints, as JSON,
the task ids of each operation (a chain's in step order).
"""
import json
import sys
from datetime import datetime, timedelta, timezone

from celery import chain

from interop import app


def signature(spec):
    return app.signature(spec['task'], args=spec.get('args', ()), kwargs=spec.get('kwargs', {}),
                         immutable=spec.get('immutable', False))


def options(operation):
    opts = dict(operation.get('options', {}))
    if 'expires_ago' in opts:
        opts['expires'] = datetime.now(timezone.utc) - timedelta(seconds=opts.pop('expires_ago'))
    for key in ('link', 'link_error'):
        if key in operation:
            opts[key] = signature(operation[key])
    return opts


def run(operation):
    if 'chain' in operation:
        result = chain(*map(signature, operation['chain'])).apply_async(**options(operation))
        ids = []
        while result is not None:
            ids.insert(0, result.id)
            result = result.parent
        return ids
    result = app.send_task(operation['send_task'], args=operation.get('args', ()),
                           kwargs=operation.get('kwargs', {}), **options(operation))
    return [result.id]


print(json.dumps([run(operation) for operation in json.loads(sys.argv[1])]))
