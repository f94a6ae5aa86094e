// Runs the Baton API alone (for deployments that scale workers and API separately).
import { ConfigError, loadConfig } from '../config/load';
import { metricsSettings } from '../config/metrics-settings';
import { loadSecrets, requireNoDemoCredentials, requireSecrets, requireWebhookAuth } from '../config/secrets';
import { requireTemporalTls } from '../config/temporal-tls';
import { buildApp, DEMO_CREDENTIALS, UNAUTHENTICATED_WEBHOOK } from './app';
import { syncTeamMembershipOnListen } from './membership-sync';
import { startScheduleWorkflowsOnListen } from './schedule-workflows';
import { closeGracefully } from './shutdown';
import { createTemporalClient } from './temporal';

async function main(): Promise<void> {
  const { config, file, warnings } = loadConfig();
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  requireWebhookAuth(config, file);
  requireSecrets(config, ['api']);
  // Its Temporal connection is lazy: without this a bad TLS file would show only at the first request.
  requireTemporalTls(config);
  const secrets = loadSecrets(config);
  requireNoDemoCredentials(config, secrets, file);
  const metrics = metricsSettings(config).api;
  const temporal = createTemporalClient(config, secrets);
  const app = await buildApp({ config, secrets, temporal, metrics, logger: { level: config.api.logLevel } });
  syncTeamMembershipOnListen(app, temporal, config);
  startScheduleWorkflowsOnListen(app, temporal, config);
  const graceMs = config.shutdown.api.graceTime;
  // The first signal stops gracefully; a second one (Node's default, as each is heard once)
  // ends the process at once.
  const stop = (signal: NodeJS.Signals): void => {
    app.log.info({ signal, graceMs }, 'stopping: no new connections; finishing the requests under way');
    void closeGracefully(app, graceMs)
      .then(async (inTime) => {
        if (!inTime) app.log.warn({ graceMs }, 'requests still under way after the grace time were cut');
        await temporal.connection.close();
        process.exit(inTime ? 0 : 1);
      })
      .catch((err: unknown) => {
        app.log.error({ err }, 'stopping failed');
        process.exit(1);
      });
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
  if (metrics.enabled) {
    console.log(
      `Metrics at ${address}/metrics (${metrics.tokenFrom ? `bearer token from ${metrics.tokenFrom}` : 'open: no token'})`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
