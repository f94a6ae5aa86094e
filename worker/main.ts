// Runs the Baton worker alone (for deployments that scale workers and API separately).
import { ConfigError, loadConfig } from '../config/load';
import { loadSecrets, requireSecrets } from '../config/secrets';
import { connectWorker, createBatonWorker } from './worker';

async function main(): Promise<void> {
  const { config, warnings } = loadConfig();
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  requireSecrets(config, ['worker']);
  const secrets = loadSecrets(config);
  const connection = await connectWorker(config, secrets);
  const worker = await createBatonWorker({ config, secrets, connection });
  console.log(`Baton worker polling ${config.temporal.taskQueue} on ${config.temporal.address}`);
  // The SDK stops the worker gracefully on SIGINT and SIGTERM.
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
