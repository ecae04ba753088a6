export const largePayloads = {
  name: 'large-payloads',
  hint: "task bodies past SQS's size limit go to S3, as AWS's SQS extended clients (Java, Python) send them",
  dependencies: { '@aws-sdk/client-s3': '^3.1175.0' },
  hooks: true,
} as const;
