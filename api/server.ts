// Runs the Baton API alone (for deployments that scale workers and API separately).
import { ConfigError, loadConfig } from '../config/load';
import { loadSecrets, requireNoDemoCredentials, requireSecrets, requireWebhookAuth } from '../config/secrets';
import { buildApp, DEMO_CREDENTIALS, UNAUTHENTICATED_WEBHOOK } from './app';
import { createTemporalClient } from './temporal';

async function main(): Promise<void> {
  const { config, file, warnings } = loadConfig();
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  requireWebhookAuth(config, file);
  requireSecrets(config, ['api']);
  const secrets = loadSecrets(config);
  requireNoDemoCredentials(config, secrets, file);
  const temporal = createTemporalClient(config, secrets);
  const app = await buildApp({ config, secrets, temporal, logger: { level: config.api.logLevel } });
  const stop = (): void => {
    void app.close().then(() => temporal.connection.close());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const address = await app.listen({ host: config.api.host, port: config.api.port });
  if (config.api.allowUnauthenticated) {
    console.warn(`WARNING: ${UNAUTHENTICATED_WEBHOOK} (${address}/webhooks/alertmanager)`);
  }
  if (secrets.demoCredentials.length > 0) {
    console.warn(`WARNING: ${DEMO_CREDENTIALS} (${secrets.demoCredentials.join('; ')})`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
