/**
 * Whether a request to Baton's Teams endpoint comes from Teams, for this bot, in a tenant
 * Baton serves. The Bot Connector's token is checked by the Teams SDK's own validator (its
 * signature against the keys the configured OpenID metadata publishes, its expiry, issuer
 * and audience, and that its `serviceurl` claim names the activity's serviceUrl), never by
 * hand. What the SDK leaves to the bot is checked here: an activity must name its serviceUrl
 * (without one the SDK skips that check) and come from an allowed tenant (the Bot
 * Connector's tokens name none).
 */
import { PUBLIC, withOverrides } from '@microsoft/teams.api';
// The validator is not exported from the package's root. This is the one module that imports
// it, and test/teams-inbound.test.ts fails if an upgrade moves or renames it.
import { ServiceTokenValidator } from '@microsoft/teams.apps/dist/middleware/index.js';

export interface TeamsVerifierSettings {
  appId: string;
  tenants: readonly string[];
  openIdMetadataUrl: string;
}

/** The fields of an activity Baton reads before it trusts it. */
export interface TeamsActivityEnvelope {
  type: string;
  id?: string;
  serviceUrl: string;
  tenantId: string;
}

export type Verification = { ok: true; activity: TeamsActivityEnvelope } | { ok: false; reason: string };

type ValidatorLogger = NonNullable<ConstructorParameters<typeof ServiceTokenValidator>[3]>;

/**
 * The SDK's validator says only "Invalid token"; why (a bad signature, an expired token, a
 * wrong audience) goes to its logger. This one keeps the last reason for the refusal's log
 * (two refusals at the same moment may swap theirs; the refusal itself never depends on it).
 */
function reasonKeeper(): { logger: ValidatorLogger; take(): string | undefined } {
  let last: string | undefined;
  const keep = (...parts: unknown[]): void => {
    last = parts.map((p) => (p instanceof Error ? p.message : typeof p === 'string' ? p : '')).join(' ');
  };
  const ignore = (): void => undefined;
  const logger: ValidatorLogger = {
    error: keep,
    warn: keep,
    info: ignore,
    debug: ignore,
    log: ignore,
    trace: ignore,
    child: () => logger,
  };
  return {
    logger,
    take: () => {
      const reason = last;
      last = undefined;
      return reason;
    },
  };
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/**
 * The activity's tenant: Teams sends it in channelData and on the conversation. Where both
 * are given they must agree; an activity that says two things has none.
 */
function tenantOf(activity: Record<string, unknown>): string | undefined {
  const inChannelData = text(record(record(activity.channelData)?.tenant)?.id)?.toLowerCase();
  const onConversation = text(record(activity.conversation)?.tenantId)?.toLowerCase();
  if (inChannelData && onConversation && inChannelData !== onConversation) return undefined;
  return inChannelData ?? onConversation;
}

export function teamsVerifier(
  settings: TeamsVerifierSettings,
): (authorization: string | undefined, body: unknown) => Promise<Verification> {
  const cloud = withOverrides(PUBLIC, { openIdMetadataUrl: settings.openIdMetadataUrl });
  const reasons = reasonKeeper();
  // One validator for the process: it caches the signing keys between requests.
  const validator = new ServiceTokenValidator(settings.appId, undefined, undefined, reasons.logger, cloud);
  const tenants = new Set(settings.tenants.map((t) => t.toLowerCase()));

  return async (authorization, body) => {
    if (!authorization?.startsWith('Bearer ')) return { ok: false, reason: 'no bearer token' };
    const activity = record(body);
    const type = text(activity?.type);
    if (!activity || !type) return { ok: false, reason: 'the body is not an activity' };
    const serviceUrl = text(activity.serviceUrl);
    if (!serviceUrl) return { ok: false, reason: 'the activity names no serviceUrl' };
    try {
      reasons.take();
      await validator.check(authorization, activity);
    } catch (err) {
      return {
        ok: false,
        reason: `the token is refused: ${reasons.take() ?? (err instanceof Error ? err.message : String(err))}`,
      };
    }
    // The Bot Connector signs for every channel a bot is on (Web Chat, Direct Line); only
    // Teams' own activities carry a tenant Teams vouches for.
    if (activity.channelId !== 'msteams') {
      return {
        ok: false,
        reason: `the activity comes from ${text(activity.channelId) ?? 'no channel'}, not Teams`,
      };
    }
    const tenantId = tenantOf(activity);
    if (!tenantId || !tenants.has(tenantId)) {
      return { ok: false, reason: `tenant ${tenantId ?? '(none)'} is not one Baton serves` };
    }
    const id = text(activity.id);
    return { ok: true, activity: { type, serviceUrl, tenantId, ...(id ? { id } : {}) } };
  };
}
