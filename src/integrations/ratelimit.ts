export const ratelimit = {
  name: 'ratelimit',
  hint: "per-queue rate limits checked before receiving: in-process, or Envoy's ratelimit service",
  dependencies: {},
  hooks: true,
} as const;
