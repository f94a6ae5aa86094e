import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';
import type { BatonConfig } from './schema';
import type { Secrets } from './secrets';

export type TemporalConnectionOptions = Pick<ConnectionOptions, 'address' | 'tls'> & {
  apiKey?: string;
};

/**
 * How to reach Temporal: the local development server by default, or a cluster or Temporal
 * Cloud with TLS and an API key. Both the client and the worker connect with these options.
 */
export function temporalConnectionOptions(
  config: BatonConfig,
  secrets: Pick<Secrets, 'temporalApiKey'>,
): TemporalConnectionOptions {
  const { address, tls } = config.temporal;
  const options: TemporalConnectionOptions = { address };
  if (tls) {
    options.tls = {
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      ...(tls.caFile ? { serverRootCACertificate: readFileSync(tls.caFile) } : {}),
      ...(tls.certFile && tls.keyFile
        ? { clientCertPair: { crt: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } }
        : {}),
    };
  }
  if (secrets.temporalApiKey) {
    options.apiKey = secrets.temporalApiKey;
    // Temporal Cloud with an API key always speaks TLS.
    options.tls ??= true;
  }
  return options;
}
