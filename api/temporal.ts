import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { BatonConfig } from '../config/schema';
import type { Secrets } from '../config/secrets';
import { temporalConnectionOptions, temporalDataConverter } from '../config/temporal';

/**
 * A client that does not need Temporal to be up when the API starts: the connection is
 * made on first use, so /healthz answers and /readyz can say Temporal is unreachable.
 */
export function createTemporalClient(config: BatonConfig, secrets: Secrets): Client {
  const connection = Connection.lazy({
    ...temporalConnectionOptions(config, secrets),
    connectTimeout: 2_000,
    // The SDK's default retries an unreachable server for about 20 s before failing, longer
    // than Alertmanager waits for a webhook answer (10 s): it would never see the 503 and
    // every request would hang. A few quick retries (about 1 s) still ride out a blip.
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 4 }))],
  });
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: temporalDataConverter(config, secrets),
  });
}

/** Whether Temporal answers within the time given. */
export async function temporalReachable(client: Client, timeoutMs = 2_000): Promise<boolean> {
  try {
    await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflowService.describeNamespace({ namespace: client.options.namespace }),
    );
    return true;
  } catch {
    return false;
  }
}
