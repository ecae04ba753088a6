export const tracing = {
  name: 'tracing',
  hint: 'OpenTelemetry traces over OTLP/HTTP, from the producer through the task (OTEL_EXPORTER_OTLP_ENDPOINT)',
  dependencies: {
    '@opentelemetry/api': '^1.10.0',
    '@opentelemetry/context-async-hooks': '^3.1.1',
    '@opentelemetry/core': '^3.1.1',
    '@opentelemetry/exporter-trace-otlp-http': '^0.301.0',
    '@opentelemetry/resources': '^3.1.1',
    '@opentelemetry/sdk-trace': '^3.1.1',
  },
  hooks: true,
} as const;
