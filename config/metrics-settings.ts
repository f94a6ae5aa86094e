/**
 * What the API and the worker serve as metrics, from the configuration and the environment.
 * Apart from the schema (config/metrics.ts), which the configuration schema imports, so that
 * the error this raises can come from the loader without an import cycle.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from './load';
import { LISTEN_HINT, metricsSchema, parseListenAddress, type MetricsConfig } from './metrics';

/** What the API and the worker serve, with the environment's overrides applied. */
export interface MetricsSettings {
  api: {
    enabled: boolean;
    /** SHA-256 of the bearer token /metrics requires; undefined when it is open. */
    tokenSha256?: string;
    /** Where the token came from, for the start-up line ("BATON_METRICS_TOKEN"). */
    tokenFrom?: string;
  };
  /** The worker's exporter address (host:port), if it is on. */
  workerListen?: string;
}

/**
 * The metrics settings of a configuration and environment:
 * - BATON_WORKER_METRICS=host:port turns the worker's exporter on there ("off" turns it off);
 * - BATON_METRICS_TOKEN is the API's /metrics bearer token when the file names none.
 * A token variable the file names but the environment lacks stops start-up: an endpoint
 * meant to be closed must never open because a secret is missing.
 */
export function metricsSettings(
  config: { metrics?: MetricsConfig },
  env: NodeJS.ProcessEnv = process.env,
): MetricsSettings {
  const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
  const section = config.metrics ?? metricsSchema.parse(undefined);
  const api: MetricsSettings['api'] = { enabled: section.api.enabled };
  const bearer = section.api.bearer;
  if (bearer?.tokenSha256) {
    api.tokenSha256 = bearer.tokenSha256;
    api.tokenFrom = 'metrics.api.bearer.tokenSha256';
  } else if (bearer?.tokenEnv) {
    const token = env[bearer.tokenEnv];
    if (!token) {
      throw new ConfigError(
        `Baton cannot start: ${bearer.tokenEnv}, the bearer token for /metrics (metrics.api.bearer.tokenEnv), is not set`,
      );
    }
    api.tokenSha256 = hashToken(token);
    api.tokenFrom = bearer.tokenEnv;
  } else if (env.BATON_METRICS_TOKEN) {
    api.tokenSha256 = hashToken(env.BATON_METRICS_TOKEN);
    api.tokenFrom = 'BATON_METRICS_TOKEN';
  }

  let workerListen = section.worker.listen;
  const fromEnv = env.BATON_WORKER_METRICS?.trim();
  if (fromEnv === 'off') workerListen = undefined;
  else if (fromEnv) {
    if (!parseListenAddress(fromEnv)) {
      throw new ConfigError(`BATON_WORKER_METRICS: "${fromEnv}": ${LISTEN_HINT} (or off)`);
    }
    workerListen = fromEnv;
  }
  return { api, ...(workerListen ? { workerListen } : {}) };
}
