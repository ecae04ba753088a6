// The environments a generated worker deploys to: one overlay each in deploy/k8s/overlays/, one
// manual deploy job each in its GitLab CI.

/**
 * dev and prod, and the env the worker was made for when it is another AWS env (local is the
 * SQS of npm run dev, never a cluster).
 */
export function deployEnvs(env: string): string[] {
  const envs = ['dev', 'prod'];
  return env === 'local' || envs.includes(env) ? envs : [...envs, env];
}

/** The GitLab CI/CD variable (type File) holding an env's kubeconfig: KUBECONFIG_<ENV>. */
export function kubeconfigVariable(env: string): string {
  return `KUBECONFIG_${env.toUpperCase().replaceAll('-', '_')}`;
}
