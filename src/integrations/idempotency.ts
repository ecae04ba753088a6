export const idempotency = {
  name: 'idempotency',
  hint: 'tasks marked idempotent run once per key: completed keys (and their results) kept in Redis',
  dependencies: { ioredis: '^5.9.2' },
  hooks: true,
} as const;
