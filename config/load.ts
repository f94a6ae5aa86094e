import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { deprecationsIn } from './deprecations';
import { configSchema, type BatonConfig } from './schema';

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
  return { config, file, warnings: deprecationsIn(config) };
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
