import type { ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { ConfigError } from './load';
import { PayloadEncryptionCodec } from './payload-codec';
import type { BatonConfig } from './schema';
import type { Secrets } from './secrets';
import { loadTemporalTls } from './temporal-tls';

export type TemporalConnectionOptions = Pick<ConnectionOptions, 'address' | 'tls'> & {
  apiKey?: string;
};

/**
 * How to reach Temporal: the local development server by default, or a cluster or Temporal
 * Cloud with TLS and an API key. Both the client and the worker connect with these options.
 * The TLS files go through the same checks as at start-up (temporal-tls.ts), so a file that
 * went missing since then is a ConfigError naming it, not a bare ENOENT.
 */
export function temporalConnectionOptions(
  config: BatonConfig,
  secrets: Pick<Secrets, 'temporalApiKey'>,
): TemporalConnectionOptions {
  const { address } = config.temporal;
  const options: TemporalConnectionOptions = { address };
  const tls = loadTemporalTls(config.temporal.tls);
  if (tls) {
    options.tls = {
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      ...(tls.ca ? { serverRootCACertificate: tls.ca } : {}),
      ...(tls.clientCertPair ? { clientCertPair: tls.clientCertPair } : {}),
    };
  }
  if (secrets.temporalApiKey) {
    options.apiKey = secrets.temporalApiKey;
    // Temporal Cloud with an API key always speaks TLS.
    options.tls ??= true;
  }
  return options;
}

/**
 * How Baton's payloads cross the wire: sealed by the encryption codec when
 * temporal.encryption is on, as the SDK's default otherwise. Every client and worker Baton
 * builds for its own incidents takes it, so that none writes plaintext beside the others
 * and all read what the others wrote.
 */
export function temporalDataConverter(
  config: BatonConfig,
  secrets: Pick<Secrets, 'payloadKeys'>,
): DataConverter {
  const encryption = config.temporal.encryption;
  if (!encryption) return { payloadCodecs: [] };
  // Secrets read for another configuration must not turn encryption off unseen.
  if (!secrets.payloadKeys) {
    throw new ConfigError(`temporal.encryption is on but no keys were read from ${encryption.keysEnv}`);
  }
  return { payloadCodecs: [new PayloadEncryptionCodec(secrets.payloadKeys, encryption.keysEnv)] };
}

/**
 * What a failed connection to Temporal means, in the settings' words, when its error shows a
 * TLS refusal; undefined otherwise. The worker's Core SDK reports the reason deep inside a
 * transport error ("received fatal alert: CertificateRequired", "InvalidCertificate(UnknownIssuer)");
 * an operator should read which setting to fix instead.
 */
export function explainTemporalConnectionFailure(err: unknown, config: BatonConfig): string | undefined {
  // The reason may sit in the error's cause chain rather than its message.
  const messages: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    messages.push(e instanceof Error ? e.message : typeof e === 'string' ? e : '');
    e = e instanceof Error ? e.cause : undefined;
  }
  const message = messages.join(' ');
  const { address, tls } = config.temporal;
  const at = `Baton cannot connect to Temporal at ${address}:`;
  const ca = tls?.caFile
    ? `temporal.tls.caFile (${tls.caFile})`
    : "the system's certificate authorities (no temporal.tls.caFile)";
  if (/CertificateRequired|certificate required/i.test(message)) {
    return (
      `${at} the server requires a client certificate (mutual TLS) and Baton presented none. ` +
      'Set temporal.tls.certFile and temporal.tls.keyFile (or TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY).'
    );
  }
  if (/UnknownIssuer|unable to (get|verify)|self[- ]signed|certificate verify failed/i.test(message)) {
    return `${at} the server's certificate is not signed by ${ca}. Set temporal.tls.caFile (TEMPORAL_TLS_CA) to the CA that signed it.`;
  }
  if (/NotValidForName|Hostname\/IP does not match|altnames|CertNotValidForName/i.test(message)) {
    return (
      `${at} the server's certificate is not for ${tls?.serverName ?? address.replace(/:\d+$/, '')}. ` +
      'Set temporal.tls.serverName (TEMPORAL_TLS_SERVER_NAME) to a name the certificate carries.'
    );
  }
  if (
    /BadCertificate|bad certificate|UnknownCA|unknown ca|CertificateUnknown|certificate unknown/i.test(
      message,
    )
  ) {
    return (
      `${at} the server refused Baton's client certificate (temporal.tls.certFile ${tls?.certFile ?? ''}): ` +
      'it is not signed by a CA the server trusts for clients.'
    );
  }
  if (tls && /InvalidContentType|CorruptMessage|wrong version number|packet length too long/i.test(message)) {
    return `${at} the server does not speak TLS there, but temporal.tls is set. Unset it (TEMPORAL_TLS=false) for a plain server.`;
  }
  // A server that refuses a client at the TLS layer often just closes the connection, and
  // the client sees only that (which of the two depends on timing): say what is likely.
  const closed = /broken pipe|connection reset|connection closed|connection was not ready|ECONNRESET/i.test(
    message,
  );
  if (closed && tls && !tls.certFile) {
    return (
      `${at} the server closed the connection after the TLS handshake: it probably requires a client ` +
      'certificate (mutual TLS), and none is configured. Set temporal.tls.certFile and temporal.tls.keyFile ' +
      '(or TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY).'
    );
  }
  if (closed && !tls) {
    return (
      `${at} the server closed the connection: it may require TLS. Set temporal.tls ` +
      '(or TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY).'
    );
  }
  return undefined;
}
