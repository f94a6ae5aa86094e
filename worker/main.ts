// Runs the Baton worker alone (for deployments that scale workers and API separately).
import { ConfigError, loadConfig } from '../config/load';
import { metricsSettings } from '../config/metrics-settings';
import { loadSecrets, requireSecrets } from '../config/secrets';
import { explainTemporalConnectionFailure } from '../config/temporal';
import { requireTemporalTls } from '../config/temporal-tls';
import { installWorkerRuntime } from './metrics';
import { connectWorker, createBatonWorker } from './worker';

async function main(): Promise<void> {
  const { config, warnings } = loadConfig();
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  requireSecrets(config, ['worker']);
  requireTemporalTls(config);
  const secrets = loadSecrets(config);
  const { workerListen } = metricsSettings(config);
  // Before any connection: the runtime, and so its metrics exporter, is fixed once it exists.
  installWorkerRuntime({ ...(workerListen ? { metricsListen: workerListen } : {}) });
  const connection = await connectWorker(config, secrets).catch((err: unknown) => {
    const explained = explainTemporalConnectionFailure(err, config);
    // Said in the settings' words, with the SDK's own error after it for the record.
    throw explained ? new ConfigError(`${explained}\n(${(err as Error).message})`) : err;
  });
  const graceMs = config.shutdown.worker.graceTime;
  const worker = await createBatonWorker({ config, secrets, connection, shutdownGraceMs: graceMs });
  console.log(
    `Baton worker polling ${config.temporal.taskQueue} on ${config.temporal.address}` +
      (workerListen ? `; metrics at http://${workerListen}/metrics` : ''),
  );
  // The SDK shuts the worker down on SIGINT and SIGTERM: it stops polling at once, lets the
  // running tasks finish within the grace time, then cancels the activities still running
  // (Temporal retries them on another worker).
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
