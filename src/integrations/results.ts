export const results = {
  name: 'results',
  hint: "task results in Celery's Redis result backend: Python's AsyncResult.get() reads them, sendTask(...).get() reads Python's",
  dependencies: { ioredis: '^5.9.2' },
  hooks: true,
} as const;
