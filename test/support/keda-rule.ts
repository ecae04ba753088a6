// KEDA's `aws-sqs-queue` scaler and the HPA it drives, as pure functions of a queue's depth and a
// clock, for the scale-out simulation (test/support/keda.ts). Read from KEDA's source
// (pkg/scalers/aws_sqs_queue_scaler.go, pkg/scaling/executor/scale_scaledobjects.go,
// apis/keda/v1alpha1/scaledobject_types.go) and Kubernetes' HPA (replica_calculator.go's
// GetExternalPerPodMetricReplicas, horizontal.go's stabilizeRecommendationWithBehaviors):
// - the metric of a trigger: ApproximateNumberOfMessages, + NotVisible when scaleOnInFlight
//   (default true), + Delayed when scaleOnDelayed (default false); an AverageValue target of
//   queueLength (default 5) per replica;
// - KEDA alone moves 0 → max(minReplicaCount, 1) when a trigger is active (metric >
//   activationQueueLength, default 0), and back to 0 (minReplicaCount 0) once no trigger has been
//   active for cooldownPeriod (default 300 s); the HPA is off at 0 replicas;
// - the HPA, from 1 replica up: per trigger ceil(metric ÷ queueLength), unless within its 10 %
//   tolerance of the replicas running; the largest over the triggers; a scale-in only to the
//   highest recommendation of the scale-down stabilisation window (default 300 s); clamped to
//   [max(minReplicaCount, 1), maxReplicaCount (default 100)].
// Left out: the HPA's rate policies (by default 4 pods or 100 % per 15 s up, 100 % per 15 s down,
// which allow every step of a bound up to 5) and its own 15 s sync: one poll every pollingInterval
// does KEDA's check and the HPA's.

/** One `aws-sqs-queue` trigger's metadata (its queueURL and awsRegion left to the driver). */
export interface SqsTrigger {
  queueLength?: number;
  activationQueueLength?: number;
  scaleOnInFlight?: boolean;
  scaleOnDelayed?: boolean;
}

/** A ScaledObject's spec, by KEDA's field names; times in seconds. */
export interface ScaledObjectSpec {
  pollingInterval?: number;
  cooldownPeriod?: number;
  minReplicaCount?: number;
  maxReplicaCount?: number;
  /** spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds */
  scaleDownStabilizationWindowSeconds?: number;
  triggers: SqsTrigger[];
}

export type ResolvedSpec = Required<Omit<ScaledObjectSpec, 'triggers'>> & { triggers: Required<SqsTrigger>[] };

/** The HPA's default tolerance: a metric within 10 % of its target changes nothing. */
const TOLERANCE = 0.1;

export class InvalidScaledObjectError extends Error {
  override name = 'InvalidScaledObjectError';
}

/** The depth KEDA scales on, from GetQueueAttributes' answer. */
export function queueMetric(attributes: Record<string, string | undefined>, trigger: SqsTrigger): number {
  const names = [
    'ApproximateNumberOfMessages',
    ...((trigger.scaleOnInFlight ?? true) ? ['ApproximateNumberOfMessagesNotVisible'] : []),
    ...(trigger.scaleOnDelayed ? ['ApproximateNumberOfMessagesDelayed'] : []),
  ];
  let sum = 0;
  for (const name of names) {
    const value = attributes[name];
    if (value === undefined) throw new Error(`metric ${name} not found in SQS queue attributes`);
    sum += Number.parseInt(value, 10);
  }
  return sum;
}

/** The HPA's replicas for an external metric with an AverageValue target of `queueLength`. */
export function hpaProposal(metric: number, queueLength: number, current: number): number {
  const usageRatio = metric / (queueLength * current);
  return Math.abs(1 - usageRatio) > TOLERANCE ? Math.ceil(metric / queueLength) : current;
}

export function resolveSpec(spec: ScaledObjectSpec): ResolvedSpec {
  const resolved: ResolvedSpec = {
    pollingInterval: spec.pollingInterval ?? 30,
    cooldownPeriod: spec.cooldownPeriod ?? 300,
    minReplicaCount: spec.minReplicaCount ?? 0,
    maxReplicaCount: spec.maxReplicaCount ?? 100,
    scaleDownStabilizationWindowSeconds: spec.scaleDownStabilizationWindowSeconds ?? 300,
    triggers: spec.triggers.map((trigger) => ({
      queueLength: trigger.queueLength ?? 5,
      activationQueueLength: trigger.activationQueueLength ?? 0,
      scaleOnInFlight: trigger.scaleOnInFlight ?? true,
      scaleOnDelayed: trigger.scaleOnDelayed ?? false,
    })),
  };
  if (resolved.triggers.length === 0) throw new InvalidScaledObjectError('a ScaledObject needs at least one trigger');
  for (const { queueLength } of resolved.triggers) {
    if (!(queueLength >= 1)) throw new InvalidScaledObjectError(`queueLength must be 1 or more, not ${queueLength}`);
  }
  if (resolved.minReplicaCount > resolved.maxReplicaCount) {
    throw new InvalidScaledObjectError(
      `minReplicaCount=${resolved.minReplicaCount} must be less than or equal to maxReplicaCount=${resolved.maxReplicaCount}`,
    );
  }
  return resolved;
}

/** KEDA's scale executor and the HPA for one ScaledObject: `step` is one poll. */
export class KedaScaler {
  readonly spec: ResolvedSpec;
  #lastActive: number | undefined;
  /** The HPA's recommendations, for its scale-down stabilisation window. */
  #recommendations: { at: number; replicas: number }[] = [];

  constructor(spec: ScaledObjectSpec) {
    this.spec = resolveSpec(spec);
  }

  /** The replicas wanted at `now` (ms), given each trigger's metric and the replicas set now. */
  step(now: number, metrics: readonly number[], current: number): number {
    const { minReplicaCount, cooldownPeriod, triggers } = this.spec;
    const active = triggers.some((trigger, index) => (metrics[index] ?? 0) > trigger.activationQueueLength);
    if (active) {
      this.#lastActive = now;
      if (current === 0) return Math.max(minReplicaCount, 1);
    } else if (current > 0 && minReplicaCount === 0) {
      // KEDA's initialCooldownPeriod (default 0) applies when it has never seen the target active.
      if (this.#lastActive === undefined || now - this.#lastActive > cooldownPeriod * 1000) return 0;
    } else if (current < minReplicaCount) {
      return minReplicaCount;
    }
    return current === 0 ? 0 : this.#hpa(now, metrics, current);
  }

  #hpa(now: number, metrics: readonly number[], current: number): number {
    const { triggers, minReplicaCount, maxReplicaCount, scaleDownStabilizationWindowSeconds } = this.spec;
    const proposal = Math.max(
      ...triggers.map((trigger, index) => hpaProposal(metrics[index] ?? 0, trigger.queueLength, current)),
    );
    // The window starts with the replicas the HPA first found (maybeInitScaleDownStabilizationWindow).
    if (this.#recommendations.length === 0) this.#recommendations.push({ at: now, replicas: current });
    const cutoff = now - scaleDownStabilizationWindowSeconds * 1000;
    this.#recommendations = this.#recommendations.filter((each) => each.at > cutoff);
    const highest = Math.max(proposal, ...this.#recommendations.map((each) => each.replicas));
    this.#recommendations.push({ at: now, replicas: proposal });
    // Up at once (scale-up window 0); down no lower than the window's highest.
    const stabilised = Math.min(Math.max(current, proposal), highest);
    return Math.min(Math.max(stabilised, minReplicaCount, 1), maxReplicaCount);
  }
}
