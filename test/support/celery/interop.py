"""The Python side of test/interop/: a Celery app on the tests' local SQS, whose tasks record each run.

Configured by the environment the tests set:
  SQS_ENDPOINT   http://127.0.0.1:<port>, the local SQS
  ROUTES         JSON, Celery's task_routes: task name or glob -> SQS queue name
  PY_QUEUE       the queue of this app's tasks (its default queue)
  HANDOFF_QUEUE  where shared.handoff sends its retry: the TypeScript worker's queue
  RESULT_LOG     each run appends a JSON line here
  RESULT_BACKEND Celery's result_backend (redis://…/db), optional: without it no results are stored
"""
import json
import os

from celery import Celery

app = Celery('interop', broker='sqs://local:local@' + os.environ['SQS_ENDPOINT'].split('://', 1)[1])
app.conf.update(
    broker_transport_options={
        'region': 'us-east-1',
        'is_secure': False,
        # local-aws-sqs does not answer a long poll early when a message arrives: poll briefly.
        'wait_time_seconds': 1,
        'polling_interval': 0.2,
        'visibility_timeout': 30,
    },
    task_routes={task: {'queue': queue} for task, queue in json.loads(os.environ.get('ROUTES', '{}')).items()},
    task_default_queue=os.environ.get('PY_QUEUE', 'celery'),
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    result_backend=os.environ.get('RESULT_BACKEND') or None,
)


def record(task, result=None, **extra):
    request = task.request
    entry = {
        'task': task.name,
        'id': request.id,
        'args': list(request.args or ()),
        'kwargs': request.kwargs or {},
        'result': result,
        'parent_id': request.parent_id,
        'root_id': request.root_id,
        'retries': request.retries,
        **extra,
    }
    with open(os.environ['RESULT_LOG'], 'a') as log:
        log.write(json.dumps(entry, default=str) + '\n')


@app.task(bind=True, name='py.double')
def double(self, x):
    record(self, x * 2)
    return x * 2


@app.task(bind=True, name='py.add')
def add(self, a, b):
    record(self, a + b)
    return a + b


@app.task(bind=True, name='py.record')
def record_args(self, *args):
    record(self, list(args))
    return list(args)


@app.task(bind=True, name='py.fail')
def fail(self, *args):
    record(self)
    raise ValueError('py.fail fails on purpose')


@app.task(bind=True, name='py.on_error')
def on_error(self, task_id):
    record(self, task_id)


@app.task(bind=True, name='shared.handoff', max_retries=3)
def handoff(self, x):
    """Runs here first, then hands its retry to the TypeScript worker, which has a task of that name."""
    record(self, x)
    raise self.retry(queue=os.environ['HANDOFF_QUEUE'], countdown=1)
