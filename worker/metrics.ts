import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import { ConfigError } from '../config/load';
import { INCIDENT_METRICS } from '../workflows/incident/metrics';

/**
 * Baton's incident durations, in seconds, from half a minute (an acknowledgement) to two
 * weeks (a resolution). The SDK's default buckets stop at 10 s, where every incident would
 * fall into +Inf.
 */
export const INCIDENT_DURATION_BUCKETS = [
  30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800, 1209600,
];

/** The workflow's duration histograms (seconds; labels team and severity). */
export const INCIDENT_DURATION_HISTOGRAMS = [
  INCIDENT_METRICS.timeToAcknowledge,
  INCIDENT_METRICS.timeToEscalate,
  INCIDENT_METRICS.timeToResolve,
] as const;

/**
 * The Temporal runtime's options for a Baton worker process. With `metricsListen`, the SDK's
 * Prometheus exporter serves GET /metrics there: the SDK's own metrics (prefixed
 * `temporal_`) and those Baton records through the workflow's and the activities' metric
 * meters (unprefixed, as named). Counters keep the names they are given (`…_total`), and
 * durations are seconds, as Prometheus expects.
 */
export function workerRuntimeOptions(options: {
  metricsListen?: string;
  /** The signals on which the SDK shuts the worker down itself (its default when not given). */
  shutdownSignals?: NodeJS.Signals[];
}): RuntimeOptions {
  return {
    ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    ...(options.metricsListen
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: options.metricsListen,
                useSecondsForDurations: true,
                histogramBucketOverrides: Object.fromEntries(
                  INCIDENT_DURATION_HISTOGRAMS.map((name) => [name, INCIDENT_DURATION_BUCKETS]),
                ),
              },
            },
          },
        }
      : {}),
  };
}

/**
 * Installs the Temporal runtime of a worker process. It can be installed once per process
 * and before any connection; a port already taken stops start-up with what to do.
 */
export function installWorkerRuntime(options: Parameters<typeof workerRuntimeOptions>[0]): void {
  try {
    Runtime.install(workerRuntimeOptions(options));
  } catch (err) {
    if (options.metricsListen) {
      throw new ConfigError(
        `the worker's metrics exporter cannot listen on ${options.metricsListen}: ` +
          `${err instanceof Error ? err.message : String(err)}. Choose another address ` +
          '(metrics.worker.listen or BATON_WORKER_METRICS), or turn it off with BATON_WORKER_METRICS=off.',
      );
    }
    throw err;
  }
}
