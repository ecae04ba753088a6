export const sentry = {
  name: 'sentry',
  hint: 'task failures to Sentry, tagged with task, queue and message id (SENTRY_DSN)',
  dependencies: { '@sentry/node': '^11.12.0' },
  hooks: true,
} as const;
