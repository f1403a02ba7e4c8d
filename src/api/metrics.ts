import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Job, QueueObserver } from '../jobs/index.js';
import type { JobProgress } from '../shared/index.js';

const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600];
const STEP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface MetricsSources {
  queueDepth(): number;
  inFlight(): number;
  workersReady(): number;
  storedResultBytes(): number;
}

let processMetrics: Registry | undefined;

/**
 * prom-client's default process and Node.js metrics (process_*, nodejs_*: memory, CPU, open file descriptors,
 * event-loop lag, GC), collected once per process: each collectDefaultMetrics() call adds a GC observer and an
 * event-loop monitor that cannot be removed, which would keep every app of a process (tests) alive.
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/**
 * The server's Prometheus metrics in their own registry (one per app, so several apps can live in one process),
 * served together with the process's default metrics. Names are prefixed c3s_; the defaults keep their standard
 * names.
 */
export class Metrics {
  /** This app's metrics (c3s_*). */
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly requestDuration: Histogram<'mode' | 'state'>;
  readonly queueWait: Histogram<'mode'>;
  readonly stepDuration: Histogram<'mode'>;
  readonly jobs: Counter<'mode' | 'state'>;
  readonly failures: Counter<'code'>;
  readonly workerEvents: Counter<'event'>;
  readonly cancellations: Counter<'mode' | 'reason'>;
  readonly #lastStep = new WeakMap<Job, { step: number; at: number }>();

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    new Gauge({ name: 'c3s_queue_depth', help: 'Jobs waiting for a worker', registers, collect() { this.set(sources.queueDepth()); } });
    new Gauge({ name: 'c3s_jobs_in_flight', help: 'Jobs running (media + worker)', registers, collect() { this.set(sources.inFlight()); } });
    new Gauge({ name: 'c3s_workers_ready', help: 'Inference workers loaded and warmed up', registers, collect() { this.set(sources.workersReady()); } });
    new Gauge({ name: 'c3s_results_stored_bytes', help: 'Bytes of finished job results kept', registers, collect() { this.set(sources.storedResultBytes()); } });
    this.httpDuration = new Histogram({
      name: 'c3s_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'c3s_request_duration_seconds',
      help: 'Job duration from submission to its end, by mode and final state',
      labelNames: ['mode', 'state'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.queueWait = new Histogram({ name: 'c3s_queue_wait_seconds', help: 'Time jobs waited in the queue', labelNames: ['mode'], buckets: DURATION_BUCKETS, registers });
    this.stepDuration = new Histogram({ name: 'c3s_step_duration_seconds', help: 'Denoising step duration by mode', labelNames: ['mode'], buckets: STEP_BUCKETS, registers });
    this.jobs = new Counter({ name: 'c3s_jobs_total', help: 'Finished jobs by mode and final state', labelNames: ['mode', 'state'], registers });
    this.failures = new Counter({ name: 'c3s_job_failures_total', help: 'Failed jobs by error code', labelNames: ['code'], registers });
    this.cancellations = new Counter({
      name: 'c3s_job_cancellations_total',
      help: 'Cancelled jobs by why: request (DELETE /v1/jobs/:id), disconnect (the /predict client went away), shutdown',
      labelNames: ['mode', 'reason'],
      registers,
    });
    this.workerEvents = new Counter({ name: 'c3s_worker_events_total', help: 'Worker crashes, restarts and readiness', labelNames: ['event'], registers });
  }

  /** The Prometheus text of this app's metrics and the process's. */
  async text(): Promise<{ contentType: string; body: string }> {
    const [own, proc] = await Promise.all([this.registry.metrics(), processRegistry().metrics()]);
    return { contentType: this.registry.contentType, body: `${own.trimEnd()}\n${proc}` };
  }

  /** The queue observer that feeds the job metrics. */
  observer(now: () => number = Date.now): QueueObserver {
    return {
      onStart: (job) => {
        this.queueWait.observe({ mode: job.spec.mode }, ((job.startedAt ?? now()) - job.createdAt) / 1000);
      },
      onProgress: (job, progress: JobProgress) => {
        if (progress.stage !== 'sampling') return;
        const t = now();
        const last = this.#lastStep.get(job);
        if (last !== undefined && progress.step > last.step) {
          this.stepDuration.observe({ mode: job.spec.mode }, (t - last.at) / 1000 / (progress.step - last.step));
        }
        this.#lastStep.set(job, { step: progress.step, at: t });
      },
      onFinish: (job) => {
        this.jobs.inc({ mode: job.spec.mode, state: job.state });
        this.requestDuration.observe({ mode: job.spec.mode, state: job.state }, ((job.finishedAt ?? now()) - job.createdAt) / 1000);
        if (job.state === 'failed') this.failures.inc({ code: (job.error as { code?: string } | undefined)?.code ?? 'C3S_ERR_INTERNAL' });
        if (job.state === 'cancelled') this.cancellations.inc({ mode: job.spec.mode, reason: job.stopReason === 'cancelled' ? 'request' : job.stopReason ?? 'request' });
      },
    };
  }
}
