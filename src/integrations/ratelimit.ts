export const ratelimit = {
  name: 'ratelimit',
  hint: "per-queue rate limits checked before receiving: in-process, Redis, or Envoy's ratelimit service",
  dependencies: { ioredis: '^5.9.2', 'rate-limiter-flexible': '^11.4.0' },
  hooks: true,
} as const;
