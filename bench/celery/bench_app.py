"""The Celery side of bench/celery.ts: one task, `bench`, on the benchmark's local SQS.

It takes the bodies bench/throughput.ts sends (args: sent at in ms, sleep in ms) and sleeps that
long: a no-op when the sleep is 0. Celery's defaults otherwise (prefetch multiplier 4, early acks);
SQS_ENDPOINT and PY_QUEUE come from test/support/celery.ts's startCeleryWorker.
"""
import os
import time

from celery import Celery

app = Celery('bench_app', broker='sqs://local:local@' + os.environ['SQS_ENDPOINT'].split('://', 1)[1])
app.conf.update(
    broker_transport_options={
        'region': 'us-east-1',
        'is_secure': False,
        # fauxqs answers a long poll as soon as a message arrives, as SQS does.
        'wait_time_seconds': 10,
        # Longer than any run: nothing is delivered twice while the benchmark runs.
        'visibility_timeout': 600,
    },
    task_default_queue=os.environ['PY_QUEUE'],
    broker_connection_retry_on_startup=True,
)


@app.task(name='bench')
def bench(sent_at, sleep_ms, *padding):
    if sleep_ms > 0:
        time.sleep(sleep_ms / 1000)
