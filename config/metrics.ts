import net from 'node:net';
import { z } from 'zod';

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'name an environment variable');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'write a lower-case hex SHA-256 digest');

/**
 * Where the worker's Prometheus exporter listens. The SDK's native exporter binds an IP
 * address, not a host name, so "localhost:9464" would only fail later inside the runtime.
 */
export function parseListenAddress(text: string): { host: string; port: number } | undefined {
  const match = /^\[([^\]]+)\]:(\d{1,5})$|^([^:[\]]+):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const host = match[1] ?? match[3] ?? '';
  const port = Number(match[2] ?? match[4]);
  if (net.isIP(host) === 0 || (match[1] !== undefined && !net.isIPv6(host))) return undefined;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

export const LISTEN_HINT = 'write an IP address and a port, like 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464';

const listenAddress = z
  .string()
  .refine((text) => parseListenAddress(text) !== undefined, { message: LISTEN_HINT });

/**
 * `metrics`: what Baton serves to Prometheus.
 *
 * The API's GET /metrics is open by default, like /healthz and /readyz: it holds counts and
 * latencies by route, status, team and severity, never an incident's content, a person or a
 * token. An operator whose API is reachable by more than Prometheus gives it a bearer token
 * (Prometheus sends it with `authorization: { credentials_file: … }`), or turns it off.
 *
 * The worker's metrics come from the Temporal SDK's own exporter, which has no
 * authentication: it listens only where `worker.listen` says (off unless set), which should
 * be an address only Prometheus reaches.
 */
export const metricsSchema = z
  .strictObject({
    api: z
      .strictObject({
        /** Serve GET /metrics on the API's port (default true). */
        enabled: z.boolean().default(true),
        /** Require this bearer token to read /metrics; without it /metrics is open. */
        bearer: z
          .strictObject({ tokenEnv: envName.optional(), tokenSha256: sha256.optional() })
          .refine((b) => Boolean(b.tokenEnv) !== Boolean(b.tokenSha256), {
            message: 'give exactly one of tokenEnv or tokenSha256',
          })
          .optional(),
      })
      .default({ enabled: true }),
    worker: z
      .strictObject({
        /**
         * host:port of the worker's Prometheus exporter (the SDK's metrics, and Baton's
         * notification, incident and follow-up metrics); off when absent.
         */
        listen: listenAddress.optional(),
      })
      .default({}),
  })
  .default({ api: { enabled: true }, worker: {} });

export type MetricsConfig = z.output<typeof metricsSchema>;
