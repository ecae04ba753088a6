// Programs some tests need besides Node.js. A test that needs one calls requireTools first, so a
// machine without it fails with the tool's name and how to install it, not with a puzzling
// assertion or a time-out. `.ci/run` installs them on Debian and Ubuntu.
import { onPath } from '../../src/on-path.ts';

const TOOLS = {
  promtool: {
    what: "Prometheus' checker of configs and /metrics",
    install: 'sudo apt-get install prometheus on Debian or Ubuntu, or promtool from https://prometheus.io/download/',
  },
  'redis-server': { what: 'a real Redis', install: 'sudo apt-get install redis-server, or brew install redis' },
  'redis-cli': { what: "Redis' client", install: 'sudo apt-get install redis-server, or brew install redis' },
  kubectl: {
    what: "Kubernetes' client, to render kustomizations",
    install: 'sudo apt-get install kubernetes-client on Debian, or https://kubernetes.io/docs/tasks/tools/',
  },
} as const;

export type Tool = keyof typeof TOOLS;

/** Throws one sentence per missing tool: which, what it is for, and how to install it. */
export async function requireTools(tools: readonly Tool[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const missing: string[] = [];
  for (const tool of tools) {
    if (!(await onPath(tool, env))) {
      const { what, install } = TOOLS[tool];
      missing.push(`${tool} (${what}) is not installed, and this test needs it: ${install} (or run .ci/run).`);
    }
  }
  if (missing.length > 0) throw new Error(missing.join('\n'));
}
