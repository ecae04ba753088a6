export const fluent = {
  name: 'fluent',
  hint: "task events to fluentd's forward protocol, for TD (FLUENT_HOST)",
  dependencies: { 'fluent-logger': '^3.4.1' },
  hooks: true,
} as const;
