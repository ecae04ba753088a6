"""What AWS's Python SQS extended client (sqs_extended_client) does with a large message, written
here after its source, for a library this machine cannot install:

  python extended.py send <queue> <task> <size>
      A Celery producer (interop.py's app) whose SendMessage goes through the client's logic: the
      body Celery made is put to S3 under a uuid4 key, the message becomes
      json.dumps([PayloadS3Pointer class, {"s3BucketName", "s3Key"}]) with the attribute
      ExtendedPayloadSize (Number, the body's UTF-8 bytes). The argument is 'p' * size. Prints the task id.

  python extended.py read <queue>
      One message received as the client's receive_message does it (asking for the reserved
      attribute, the receipt handle rewritten with the S3 markers, the body fetched from S3), then
      deleted as its delete_message does it (the object deleted, the original handle cut back out).
      Prints what it read as JSON.

The environment: SQS_ENDPOINT, S3_ENDPOINT and BUCKET.
"""
import base64
import json
import os
import sys
import uuid

import boto3
from botocore.config import Config

RESERVED = 'ExtendedPayloadSize'
LEGACY_RESERVED = 'SQSLargePayloadSize'
POINTER_CLASS = 'software.amazon.payloadoffloading.PayloadS3Pointer'
THRESHOLD = 262144
BUCKET_MARKER = '-..s3BucketName..-'
KEY_MARKER = '-..s3Key..-'

BUCKET = os.environ['BUCKET']
LOCAL = dict(region_name='us-east-1', aws_access_key_id='local', aws_secret_access_key='local')
s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'], config=Config(s3={'addressing_style': 'path'}),
                  **LOCAL)


def utf8_size(text):
    return len(text.encode('utf-8'))


def attributes_size(attributes):
    return sum(utf8_size(name) + utf8_size(value.get('DataType', '')) + utf8_size(value.get('StringValue', ''))
               for name, value in attributes.items())


def offload(params, **_):
    """The client's store_message_in_s3, on the parameters of one SendMessage."""
    body = params['MessageBody']
    attributes = params.get('MessageAttributes', {})
    if attributes_size(attributes) + utf8_size(body) <= THRESHOLD:
        return
    encoded = body.encode('utf-8')
    attributes[RESERVED] = {'DataType': 'Number', 'StringValue': str(len(encoded))}
    key = str(uuid.uuid4())
    s3.put_object(Body=encoded, Bucket=BUCKET, Key=key)
    params['MessageAttributes'] = attributes
    params['MessageBody'] = json.dumps([POINTER_CLASS, {'s3BucketName': BUCKET, 's3Key': key}])


def send(queue, task, size):
    # Every SQS client kombu makes from now on sends through offload().
    make_client = boto3.session.Session.client

    def client(self, service_name, *args, **kwargs):
        made = make_client(self, service_name, *args, **kwargs)
        if service_name == 'sqs':
            made.meta.events.register('before-parameter-build.sqs.SendMessage', offload)
        return made

    boto3.session.Session.client = client
    from interop import app
    result = app.send_task(task, args=['p' * size], queue=queue)
    print(json.dumps({'id': result.id}))


def between(handle, marker):
    first = handle.find(marker)
    return handle[first + len(marker):handle.find(marker, first + len(marker))]


def read(queue):
    sqs = boto3.client('sqs', endpoint_url=os.environ['SQS_ENDPOINT'], **LOCAL)
    url = sqs.get_queue_url(QueueName=queue)['QueueUrl']
    messages = []
    for _ in range(20):
        messages = sqs.receive_message(QueueUrl=url, MessageAttributeNames=[RESERVED], MaxNumberOfMessages=1,
                                       WaitTimeSeconds=2).get('Messages', [])
        if messages:
            break
    message = messages[0]
    attributes = message.get('MessageAttributes', {})
    name = RESERVED if RESERVED in attributes else LEGACY_RESERVED if LEGACY_RESERVED in attributes else ''
    pointer = json.loads(message['Body'])
    if not (isinstance(pointer, list) and len(pointer) == 2 and isinstance(pointer[1], dict)):
        raise SystemExit('not a pointer: ' + message['Body'][:200])
    bucket, key = pointer[1]['s3BucketName'], pointer[1]['s3Key']
    handle = BUCKET_MARKER + bucket + BUCKET_MARKER + KEY_MARKER + key + KEY_MARKER + message['ReceiptHandle']
    body = s3.get_object(Bucket=bucket, Key=key)['Body'].read().decode()
    # Celery's SQS body: base64 of the envelope, whose body is base64 of [args, kwargs, embed].
    envelope = json.loads(base64.b64decode(body))
    args, kwargs, _ = json.loads(base64.b64decode(envelope['body']))
    # delete_message: the pointer from the markers, the object deleted, the original handle sent.
    s3.delete_object(Bucket=between(handle, BUCKET_MARKER), Key=between(handle, KEY_MARKER))
    original = handle.split('-')[-1]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=original)
    print(json.dumps({
        'attribute': name,
        'dataType': attributes[name]['DataType'],
        'size': int(attributes[name]['StringValue']),
        'bodyBytes': len(body.encode('utf-8')),
        'pointerClass': pointer[0],
        'bucket': bucket,
        'key': key,
        'task': envelope['headers']['task'],
        'argLength': len(args[0]),
        'originalHandle': original == message['ReceiptHandle'],
    }))


if __name__ == '__main__':
    command = sys.argv[1]
    if command == 'send':
        send(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        read(sys.argv[2])
