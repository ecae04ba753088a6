// The integrations a worker can be generated with: one file each, listed here. An integration is
// whole files (templates/integrations/<name>/files/), its dependencies, and its sections of the
// README and .env.example; src/integrations/index.ts of the worker wires the chosen ones in.
import { fluent } from './fluent.ts';
import { ratelimit } from './ratelimit.ts';
import { results } from './results.ts';
import { sentry } from './sentry.ts';
import { tracing } from './tracing.ts';
import { vault } from './vault.ts';

export interface IntegrationDefinition {
  name: string;
  /** One line for the prompt and --help. */
  hint: string;
  /** npm dependencies of the generated worker. */
  dependencies: Record<string, string>;
  /** Whether it plugs into the running worker (src/integrations/index.ts lists it). */
  hooks: boolean;
}

export const INTEGRATIONS = [
  fluent,
  ratelimit,
  results,
  sentry,
  tracing,
  vault,
] as const satisfies readonly IntegrationDefinition[];
export type IntegrationName = (typeof INTEGRATIONS)[number]['name'];
export const INTEGRATION_NAMES = INTEGRATIONS.map(({ name }) => name) as [IntegrationName, ...IntegrationName[]];
