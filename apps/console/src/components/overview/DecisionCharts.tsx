import type { DecisionTimeline } from '@stepgate/protocol';
import { TimeChart } from './TimeChart';

const percent = (value: number) => `${value.toFixed(1)} %`;
const perMinute = (value: number) =>
  value.toLocaleString(undefined, {
    maximumFractionDigits: value >= 100 ? 0 : value >= 10 ? 1 : 2,
  });

/** Decisions per minute by effect, and the share of step-ups, over the window's buckets. */
export function DecisionCharts({
  timeline,
  window,
}: {
  timeline: DecisionTimeline;
  window: string;
}) {
  const { buckets, bucketSeconds } = timeline;
  const times = buckets.map((bucket) => Date.parse(bucket.start) / 1000);
  const minutes = bucketSeconds / 60;
  const rate = (key: 'allow' | 'deny' | 'step_up') =>
    buckets.map((bucket) => bucket[key] / minutes);
  const stepUpRate = buckets.map((bucket) =>
    bucket.total === 0 ? null : (bucket.step_up / bucket.total) * 100,
  );

  const total = buckets.reduce((sum, bucket) => sum + bucket.total, 0);
  const busiest = buckets.reduce<(typeof buckets)[number] | undefined>(
    (best, bucket) => (!best || bucket.total > best.total ? bucket : best),
    undefined,
  );
  const stepUps = buckets.reduce((sum, bucket) => sum + bucket.step_up, 0);
  const highest = buckets.reduce<{ rate: number; start: string } | undefined>((best, bucket) => {
    if (bucket.total === 0) return best;
    const value = (bucket.step_up / bucket.total) * 100;
    return !best || value > best.rate ? { rate: value, start: bucket.start } : best;
  }, undefined);
  const at = (iso: string) =>
    new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const bucketText =
    bucketSeconds >= 3600
      ? `${bucketSeconds / 3600} h`
      : bucketSeconds >= 60
        ? `${bucketSeconds / 60} min`
        : `${bucketSeconds} s`;

  const volumeSummary =
    total === 0
      ? `No decision in the ${window}.`
      : `${total.toLocaleString()} decisions in the ${window}, ${perMinute(total / ((buckets.length * bucketSeconds) / 60))} per minute on average; the busiest ${bucketText} from ${at(busiest!.start)} had ${perMinute(busiest!.total / minutes)} per minute (${busiest!.allow} allowed, ${busiest!.deny} denied, ${busiest!.step_up} stepped up).`;
  const stepUpSummary =
    total === 0
      ? `No decision in the ${window}.`
      : `${percent((stepUps / total) * 100)} of the decisions in the ${window} asked for a step-up${
          highest && stepUps > 0
            ? `; the highest share was ${percent(highest.rate)} in the ${bucketText} from ${at(highest.start)}`
            : ''
        }.`;

  return (
    <div className="overview-charts">
      <TimeChart
        title="Decisions per minute by effect"
        times={times}
        unit="per minute"
        format={perMinute}
        summary={volumeSummary}
        series={[
          { label: 'Allowed', colour: '--allow', values: rate('allow') },
          { label: 'Denied', colour: '--deny', values: rate('deny') },
          { label: 'Stepped up', colour: '--step-up', values: rate('step_up') },
        ]}
      />
      <TimeChart
        title="Step-up rate"
        times={times}
        unit="% of decisions"
        format={percent}
        summary={stepUpSummary}
        series={[{ label: 'Step-ups', colour: '--step-up', values: stepUpRate, points: true }]}
      />
    </div>
  );
}
