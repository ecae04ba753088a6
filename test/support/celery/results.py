"""Reads results as a Python caller does: python results.py '<JSON list of operations>'.

Each operation, with "timeout" in seconds where it waits:
  {"op": "get", "id": id}                          AsyncResult(id).get()
  {"op": "send_get", "task", "args", "options"}    app.send_task(...).get()
  {"op": "send", "task", "args", "options"}        app.send_task(...): its id
  {"op": "state", "id": id}                        AsyncResult(id).state, without waiting
  {"op": "group_get", "tasks": [{"task", "args"}]} group(...).apply_async().get()
Prints a JSON list, one outcome per operation: {"value": v}, {"id": id}, {"state": s}, or
{"error": {"type", "module", "args", "str"}} for the exception get() raised.
"""
import json
import sys

from celery import group
from celery.result import AsyncResult

from interop import app


def run(operation):
    op = operation['op']
    timeout = operation.get('timeout', 30)
    if op == 'state':
        return {'state': AsyncResult(operation['id'], app=app).state}
    if op == 'send':
        return {'id': app.send_task(operation['task'], args=operation.get('args', ()),
                                    **operation.get('options', {})).id}
    try:
        if op == 'get':
            value = AsyncResult(operation['id'], app=app).get(timeout=timeout)
        elif op == 'send_get':
            value = app.send_task(operation['task'], args=operation.get('args', ()),
                                  **operation.get('options', {})).get(timeout=timeout)
        elif op == 'group_get':
            signatures = [app.signature(task['task'], args=task.get('args', ())) for task in operation['tasks']]
            value = group(signatures).apply_async().get(timeout=timeout)
        else:
            raise ValueError(f'unknown op {op}')
        return {'value': value}
    except Exception as error:  # what the caller's code would catch
        return {'error': {'type': type(error).__name__, 'module': type(error).__module__,
                          'args': list(error.args), 'str': str(error)}}


print(json.dumps([run(operation) for operation in json.loads(sys.argv[1])], default=str))
