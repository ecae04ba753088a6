// The message a team posts to have a new worker linked to GitLab and its services set up
// (docs/onboarding.md, step 2), with this worker's real names. Printed at the end of
// create-be-worker and by `be-worker onboarding`.
import { deadLetterQueueName, fullQueueName } from '../templates/worker/src/runtime/naming.ts';
import type { Spec } from './spec.ts';

/** Where the team asks; the platform team's channel in the template we replace. */
export const ONBOARDING_CHANNEL = '#gitlab';

export function onboardingMessage(spec: Spec, repository?: string): string {
  const queueNames = spec.queues.map(({ queue }) => {
    const prod = fullQueueName(queue, { env: 'prod', user: spec.user });
    return `${prod} (DLQ ${deadLetterQueueName(prod)})`;
  });
  const ratelimits = [...new Set(spec.queues.flatMap(({ ratelimit }) => (ratelimit ? [ratelimit] : [])))];
  const asks = [
    `link ${repository ?? '<link to the repository>'} to GitLab: its .gitlab-ci.yml tests every push and builds the image on main and on tags`,
    ...(spec.integrations.includes('sentry') ? [`a Sentry project "${spec.name}" (its DSN goes in SENTRY_DSN)`] : []),
    ...(spec.integrations.includes('ratelimit') && ratelimits.length
      ? [
          `a ratelimit domain "${spec.name}" with the descriptors ${ratelimits.map((name) => `queue=${name}`).join(', ')}`,
        ]
      : []),
  ];
  return [
    `Hi ${ONBOARDING_CHANNEL}! We have a new worker, ${spec.name}: ${spec.description}`,
    'Could you set up:',
    ...asks.map((ask) => `• ${ask}`),
    `Its SQS queues in ${spec.region}, per env (dev-, stage-, prod-): ${queueNames.join(', ')}.`,
    'Thanks!',
  ].join('\n');
}
