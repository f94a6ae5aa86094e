import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { deprecationsIn } from './deprecations';
import { configSchema, type BatonConfig } from './schema';
import { smtpWarnings } from './smtp';

export const DEFAULT_CONFIG_PATH = path.join('config', 'baton.yaml');

/** A configuration problem that stops start-up; its message names the file and the field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function describePath(issuePath: readonly PropertyKey[]): string {
  if (issuePath.length === 0) return '(top level)';
  return issuePath
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${describePath(issue.path)}: ${issue.message}`);
}

/** Validates already-parsed configuration data; throws a ConfigError listing every problem. */
export function parseConfig(data: unknown, source = 'configuration'): BatonConfig {
  const result = configSchema.safeParse(data);
  if (!result.success) {
    const lines = formatIssues(result.error.issues).map((line) => `  - ${line}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return result.data;
}

export function loadConfigFile(file: string): BatonConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the configuration file ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(data, file);
}

/**
 * The only place that reads the environment for settings: which configuration file, and
 * the overrides an operator expects to set without editing it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): {
  config: BatonConfig;
  file: string;
  /** Deprecated keys in use; print them at start-up. */
  warnings: string[];
} {
  const file = env.BATON_CONFIG ?? DEFAULT_CONFIG_PATH;
  const config = loadConfigFile(file);
  if (env.TEMPORAL_ADDRESS) config.temporal.address = env.TEMPORAL_ADDRESS;
  if (env.TEMPORAL_NAMESPACE) config.temporal.namespace = env.TEMPORAL_NAMESPACE;
  temporalFromEnvironment(config, env);
  if (env.BATON_DATA_DIR) config.dataDir = env.BATON_DATA_DIR;
  // Containers need the API on every interface; the file's default is loopback only.
  if (env.HOST) config.api.host = env.HOST;
  if (env.LOG_LEVEL) {
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
    const level = levels.find((l) => l === env.LOG_LEVEL);
    if (!level)
      throw new ConfigError(`LOG_LEVEL must be one of ${levels.join(', ')}, not "${env.LOG_LEVEL}"`);
    config.api.logLevel = level;
  }
  if (env.PORT !== undefined && env.PORT.trim() !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ConfigError(`PORT must be a port number, not "${env.PORT}"`);
    }
    config.api.port = port;
  }
  slackFromEnvironment(config, env);
  emailFromEnvironment(config, env);
  return { config, file, warnings: [...deprecationsIn(config), ...smtpWarnings(config)] };
}

/**
 * Temporal's TLS and API key from the environment, under the names the Temporal CLI also
 * reads (TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_SERVER_NAME,
 * TEMPORAL_API_KEY), so one environment serves both `temporal` and Baton. Each file variable
 * overrides its field of temporal.tls; TEMPORAL_TLS=true turns TLS on with the system's CAs,
 * TEMPORAL_TLS=false turns off TLS the file configures (for a plain local server).
 * TEMPORAL_API_KEY is used when the file names no temporal.apiKeyEnv. The files themselves
 * are checked at start-up (temporal-tls.ts).
 */
function temporalFromEnvironment(config: BatonConfig, env: NodeJS.ProcessEnv): void {
  const files = {
    caFile: env.TEMPORAL_TLS_CA?.trim(),
    certFile: env.TEMPORAL_TLS_CERT?.trim(),
    keyFile: env.TEMPORAL_TLS_KEY?.trim(),
    serverName: env.TEMPORAL_TLS_SERVER_NAME?.trim(),
  };
  const given = Object.fromEntries(Object.entries(files).filter(([, value]) => value)) as Partial<
    typeof files
  >;
  const flag = env.TEMPORAL_TLS?.trim().toLowerCase();
  if (flag && !['true', 'false', '1', '0'].includes(flag)) {
    throw new ConfigError(`TEMPORAL_TLS must be true or false, not "${env.TEMPORAL_TLS}"`);
  }
  if (flag === 'false' || flag === '0') {
    if (Object.keys(given).length > 0) {
      const names = ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_SERVER_NAME'];
      throw new ConfigError(
        `TEMPORAL_TLS=false turns TLS off, but ${names.filter((n) => env[n]?.trim()).join(', ')} ` +
          'name TLS settings: unset one or the other',
      );
    }
    delete config.temporal.tls;
  } else if (flag === 'true' || flag === '1' || Object.keys(given).length > 0) {
    config.temporal.tls = { ...config.temporal.tls, ...given };
  }
  if (!config.temporal.apiKeyEnv && env.TEMPORAL_API_KEY) config.temporal.apiKeyEnv = 'TEMPORAL_API_KEY';
}

/**
 * A configuration without a Slack section (the demo's) talks to Slack once the environment
 * has a bot token: SLACK_BOT_TOKEN, with SLACK_SIGNING_SECRET to act from Slack and
 * SLACK_API_URL for another Web API base URL. A file's own Slack section is left as it is,
 * except that SLACK_API_URL points it elsewhere.
 */
function slackFromEnvironment(config: BatonConfig, env: NodeJS.ProcessEnv): void {
  const apiUrl = env.SLACK_API_URL?.trim();
  if (apiUrl && !/^https?:\/\/\S+$/.test(apiUrl)) {
    throw new ConfigError(`SLACK_API_URL must be an http(s) URL, not "${apiUrl}"`);
  }
  const slack = config.notifications.slack;
  if (slack) {
    if (apiUrl) slack.apiUrl = apiUrl;
    return;
  }
  if (!env.SLACK_BOT_TOKEN) return;
  config.notifications.slack = {
    tokenEnv: 'SLACK_BOT_TOKEN',
    ...(env.SLACK_SIGNING_SECRET ? { signingSecretEnv: 'SLACK_SIGNING_SECRET' } : {}),
    ...(apiUrl ? { apiUrl } : {}),
    liveMessages: true,
  };
}

function portFrom(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${name} must be a port number, not "${text}"`);
  }
  return port;
}

/**
 * A configuration without an email section (the demo's) sends email once the environment
 * names an SMTP server (SMTP_HOST, SMTP_PORT, SMTP_USER with SMTP_PASSWORD, EMAIL_FROM;
 * SMTP_SECURE=true for TLS from the start, SMTP_REQUIRE_TLS=false for a server without STARTTLS).
 * BATON_EMAIL_LINK_SECRET with BATON_PUBLIC_URL adds action links; EMAIL_REPLY_DOMAIN adds
 * reply addresses, and EMAIL_INBOUND_PORT (with EMAIL_INBOUND_HOST and
 * EMAIL_INBOUND_AUTHENTICATION) turns the reply listener on. BATON_PUBLIC_URL applies to any
 * configuration. A file's own email section is left as it is.
 */
function emailFromEnvironment(config: BatonConfig, env: NodeJS.ProcessEnv): void {
  const publicUrl = env.BATON_PUBLIC_URL?.trim();
  if (publicUrl) {
    if (!/^https?:\/\/\S+$/.test(publicUrl)) {
      throw new ConfigError(`BATON_PUBLIC_URL must be an http(s) URL, not "${publicUrl}"`);
    }
    config.api.publicUrl = publicUrl;
  }
  const host = env.SMTP_HOST?.trim();
  if (config.notifications.email || !host) return;
  const linkSecret = env.BATON_EMAIL_LINK_SECRET ? 'BATON_EMAIL_LINK_SECRET' : undefined;
  if (linkSecret && !config.api.publicUrl) {
    throw new ConfigError(
      "BATON_EMAIL_LINK_SECRET needs BATON_PUBLIC_URL: the address people's browsers reach Baton at",
    );
  }
  const replyDomain = env.EMAIL_REPLY_DOMAIN?.trim();
  const inboundPort = portFrom(env, 'EMAIL_INBOUND_PORT');
  if (inboundPort !== undefined && !(linkSecret && replyDomain)) {
    throw new ConfigError(
      'EMAIL_INBOUND_PORT needs BATON_EMAIL_LINK_SECRET and EMAIL_REPLY_DOMAIN: replies come back to signed addresses',
    );
  }
  const authentication = env.EMAIL_INBOUND_AUTHENTICATION?.trim() || 'strict';
  if (authentication !== 'strict' && authentication !== 'token-and-sender') {
    throw new ConfigError(
      `EMAIL_INBOUND_AUTHENTICATION must be strict or token-and-sender, not "${authentication}"`,
    );
  }
  const user = env.SMTP_USER?.trim();
  config.notifications.email = {
    from: env.EMAIL_FROM?.trim() || 'Baton <baton@localhost>',
    smtp: {
      host,
      port: portFrom(env, 'SMTP_PORT') ?? 25,
      secure: env.SMTP_SECURE === 'true',
      // STARTTLS stays required unless the environment turns it off in so many words.
      ...(env.SMTP_REQUIRE_TLS === 'false' ? { requireTLS: false } : {}),
      ...(user ? { user, passwordEnv: 'SMTP_PASSWORD' } : {}),
    },
    linkTtl: 86_400_000,
    ...(linkSecret ? { linkSecretEnv: linkSecret } : {}),
    ...(replyDomain ? { replyDomain } : {}),
    ...(inboundPort !== undefined
      ? {
          inbound: {
            host: env.EMAIL_INBOUND_HOST?.trim() || '127.0.0.1',
            port: inboundPort,
            authentication,
            maxMessageBytes: 1024 * 1024,
            maxConnections: 20,
          },
        }
      : {}),
  };
}
