export const vault = {
  name: 'vault',
  hint: 'secrets from Vault (KV v2) into the configuration at start-up (token or Kubernetes auth)',
  dependencies: {},
  // It adds to the configuration, not to the running worker.
  hooks: false,
} as const;
