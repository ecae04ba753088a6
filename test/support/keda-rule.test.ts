// KEDA's aws-sqs-queue rule and the HPA behind it, as test/support/keda.ts applies them, checked
// step by step on made-up depths (the clock is passed in: no waiting here).
import { describe, expect, it } from 'vitest';
import { hpaProposal, KedaScaler, queueMetric, type ScaledObjectSpec } from './keda-rule.ts';

const depth = (visible: number, inFlight = 0, delayed = 0) => ({
  ApproximateNumberOfMessages: String(visible),
  ApproximateNumberOfMessagesNotVisible: String(inFlight),
  ApproximateNumberOfMessagesDelayed: String(delayed),
});

describe("the aws-sqs-queue scaler's metric", () => {
  it('counts visible and in-flight messages by default, delayed ones only when asked', () => {
    expect(queueMetric(depth(7, 5, 100), {})).toBe(12);
    expect(queueMetric(depth(7, 5, 100), { scaleOnInFlight: false })).toBe(7);
    expect(queueMetric(depth(7, 5, 100), { scaleOnDelayed: true })).toBe(112);
    expect(queueMetric(depth(0, 0, 3), { scaleOnInFlight: false, scaleOnDelayed: true })).toBe(3);
  });

  it('fails, as KEDA does, when SQS leaves out an attribute it needs', () => {
    expect(() => queueMetric({ ApproximateNumberOfMessages: '3' }, {})).toThrow(
      /ApproximateNumberOfMessagesNotVisible/,
    );
  });
});

describe("the HPA's replicas for an AverageValue target", () => {
  it('is ceil(metric ÷ queueLength), unless within 10 % of what runs now', () => {
    expect(hpaProposal(2500, 5, 1)).toBe(500);
    expect(hpaProposal(11, 5, 1)).toBe(3);
    expect(hpaProposal(1, 7, 3)).toBe(1);
    expect(hpaProposal(0, 1, 4)).toBe(0);
    // 19 ÷ (5 × 4) = 0.95: close enough to 1, the HPA keeps 4.
    expect(hpaProposal(19, 5, 4)).toBe(4);
    expect(hpaProposal(21, 5, 4)).toBe(4);
    expect(hpaProposal(23, 5, 4)).toBe(5);
    expect(hpaProposal(1_000_000, 1, 1)).toBe(1_000_000);
  });
});

describe('a ScaledObject with its HPA', () => {
  const spec = (overrides: Partial<ScaledObjectSpec> = {}): ScaledObjectSpec => ({
    minReplicaCount: 0,
    maxReplicaCount: 4,
    cooldownPeriod: 30,
    scaleDownStabilizationWindowSeconds: 10,
    triggers: [{ queueLength: 5 }],
    ...overrides,
  });
  const s = (seconds: number) => seconds * 1000;

  it('activates from 0 to 1 only above activationQueueLength, and lets the HPA take it further at its next sync', () => {
    const scaler = new KedaScaler(spec({ triggers: [{ queueLength: 5, activationQueueLength: 3 }] }));
    expect(scaler.step(s(0), [3], 0)).toBe(0);
    expect(scaler.step(s(2), [4], 0)).toBe(1);
    expect(scaler.step(s(4), [40], 1)).toBe(4); // 8 wanted, 4 the bound
  });

  it('takes the largest of the triggers, as the HPA does with several metrics', () => {
    const scaler = new KedaScaler(spec({ maxReplicaCount: 100, triggers: [{ queueLength: 5 }, { queueLength: 2 }] }));
    expect(scaler.step(s(0), [10, 1], 0)).toBe(1);
    expect(scaler.step(s(2), [10, 13], 1)).toBe(7);
    expect(scaler.step(s(4), [31, 13], 7)).toBe(7); // 31 ÷ 5 → 7, 13 ÷ 2 → 7
  });

  it('scales in only after the stabilisation window, to the highest it recommended within it', () => {
    const scaler = new KedaScaler(spec({ minReplicaCount: 1 }));
    expect(scaler.step(s(0), [100], 1)).toBe(4);
    expect(scaler.step(s(2), [10], 4)).toBe(4); // 2 wanted, but 4 was recommended 2 s ago
    expect(scaler.step(s(9), [10], 4)).toBe(4);
    expect(scaler.step(s(11), [10], 4)).toBe(2); // the 20 recommended at 0 s has left the 10 s window
    expect(scaler.step(s(13), [0], 2)).toBe(2);
    expect(scaler.step(s(22), [0], 2)).toBe(1); // never below minReplicaCount while it is 1
    expect(scaler.step(s(1000), [0], 1)).toBe(1);
  });

  it('scales to zero only when inactive for cooldownPeriod, and wakes again', () => {
    const scaler = new KedaScaler(spec({ scaleDownStabilizationWindowSeconds: 0 }));
    expect(scaler.step(s(0), [12], 0)).toBe(1);
    expect(scaler.step(s(2), [12], 1)).toBe(3);
    expect(scaler.step(s(4), [0], 3)).toBe(1); // the HPA's floor is 1; KEDA alone goes to 0
    expect(scaler.step(s(31), [0], 1)).toBe(1); // 29 s since last active: cooling down
    expect(scaler.step(s(33), [0], 1)).toBe(0);
    expect(scaler.step(s(35), [0], 0)).toBe(0);
    expect(scaler.step(s(37), [1], 0)).toBe(1);
  });

  it('raises replicas below minReplicaCount to it even with nothing to do, and holds a huge maximum', () => {
    const scaler = new KedaScaler(spec({ minReplicaCount: 3, maxReplicaCount: 1000, triggers: [{ queueLength: 1 }] }));
    expect(scaler.step(s(0), [0], 0)).toBe(3);
    expect(scaler.step(s(2), [999], 3)).toBe(999);
    expect(scaler.step(s(4), [5000], 999)).toBe(1000);
  });

  it('uses KEDA’s and the HPA’s defaults for what it is not given', () => {
    const scaler = new KedaScaler({ triggers: [{}] });
    expect(scaler.spec).toMatchObject({
      pollingInterval: 30,
      cooldownPeriod: 300,
      minReplicaCount: 0,
      maxReplicaCount: 100,
      scaleDownStabilizationWindowSeconds: 300,
    });
    expect(scaler.spec.triggers[0]).toEqual({
      queueLength: 5,
      activationQueueLength: 0,
      scaleOnInFlight: true,
      scaleOnDelayed: false,
    });
  });

  it('refuses what KEDA refuses', () => {
    expect(() => new KedaScaler({ triggers: [] })).toThrow(/at least one trigger/);
    expect(() => new KedaScaler({ triggers: [{ queueLength: 0 }] })).toThrow(/queueLength/);
    expect(() => new KedaScaler({ minReplicaCount: 5, maxReplicaCount: 4, triggers: [{}] })).toThrow(/maxReplicaCount/);
  });
});
