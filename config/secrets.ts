import { createHash, timingSafeEqual } from 'node:crypto';
import type { BatonConfig, ResponderConfig } from './schema';

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks presented secrets against the configuration. Tokens are compared by digest so a
 * configuration file never needs a secret in plain text, and so the comparison takes the
 * same time whatever the token.
 */
export interface Secrets {
  /** The responder an API token belongs to, if any. */
  responderForToken(token: string): ResponderConfig | undefined;
  /** Whether the Alertmanager webhook credentials are right (true when none are configured). */
  checkWebhook(auth: { bearer?: string; basic?: { username: string; password: string } }): boolean;
  webhookAuthConfigured: boolean;
  slackToken?: string;
  slackSigningSecret?: string;
  smtpPassword?: string;
  temporalApiKey?: string;
  /** Responders whose token variable is named but unset: they cannot use the API. */
  missing: string[];
}

export function loadSecrets(config: BatonConfig, env: NodeJS.ProcessEnv = process.env): Secrets {
  const missing: string[] = [];
  const tokens: { digest: string; responder: ResponderConfig }[] = [];
  for (const responder of config.responders) {
    if (responder.tokenSha256) {
      tokens.push({ digest: responder.tokenSha256, responder });
    } else if (responder.tokenEnv) {
      const value = env[responder.tokenEnv];
      if (value) tokens.push({ digest: sha256Hex(value), responder });
      else missing.push(`${responder.id} (${responder.tokenEnv} is not set)`);
    }
  }

  const webhook = config.api.alertmanager;
  let webhookDigest: string | undefined;
  if (webhook) {
    if ('bearer' in webhook) {
      const value = webhook.bearer.tokenEnv ? env[webhook.bearer.tokenEnv] : undefined;
      webhookDigest = webhook.bearer.tokenSha256 ?? (value ? sha256Hex(value) : undefined);
      if (!webhookDigest) missing.push(`alertmanager webhook (${webhook.bearer.tokenEnv} is not set)`);
    } else {
      const value = webhook.basic.passwordEnv ? env[webhook.basic.passwordEnv] : undefined;
      webhookDigest = webhook.basic.passwordSha256 ?? (value ? sha256Hex(value) : undefined);
      if (!webhookDigest) missing.push(`alertmanager webhook (${webhook.basic.passwordEnv} is not set)`);
    }
  }

  const optionalEnv = (name: string | undefined): string | undefined =>
    name && env[name] ? env[name] : undefined;

  return {
    responderForToken(token) {
      const digest = sha256Hex(token);
      let found: ResponderConfig | undefined;
      // Compare against every entry so timing does not tell which tokens exist.
      for (const entry of tokens) if (sameDigest(entry.digest, digest)) found = entry.responder;
      return found;
    },
    checkWebhook(auth) {
      if (!webhook) return true;
      // Configured but the secret is missing: refuse everything rather than accept anything.
      if (!webhookDigest) return false;
      if ('bearer' in webhook) {
        return auth.bearer !== undefined && sameDigest(webhookDigest, sha256Hex(auth.bearer));
      }
      return (
        auth.basic !== undefined &&
        auth.basic.username === webhook.basic.username &&
        sameDigest(webhookDigest, sha256Hex(auth.basic.password))
      );
    },
    webhookAuthConfigured: webhook !== undefined,
    slackToken: optionalEnv(config.notifications.slack?.tokenEnv),
    slackSigningSecret: optionalEnv(config.notifications.slack?.signingSecretEnv),
    smtpPassword: optionalEnv(config.notifications.email?.smtp.passwordEnv),
    temporalApiKey: optionalEnv(config.temporal.apiKeyEnv),
    missing,
  };
}
