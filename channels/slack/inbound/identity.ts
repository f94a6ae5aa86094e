import type { WebClient } from '@slack/web-api';
import type { BatonConfig, ResponderConfig } from '../../../config/schema';
import { escapeMrkdwn } from '../blocks';
import { slackErrorOf } from './answers';

export type Identity = { ok: true; responder: ResponderConfig } | { ok: false; reason: string };

/** A match holds for ten minutes; a miss for one, so a fixed Slack profile counts soon. */
const HIT_TTL_MS = 10 * 60_000;
const MISS_TTL_MS = 60_000;
const MAX_CACHED = 5_000;
const LOOKUP_FAILED = 'Baton could not look up your Slack account';

/**
 * Who a Slack user is in Baton. The configured `responders[].slackUserId` decides; a user
 * not listed there is looked up with users.info and matched by the confirmed email of their
 * Slack profile. Anyone else is told exactly what to ask their admin, and acts on nothing.
 */
export class SlackIdentities {
  private readonly cache = new Map<string, { identity: Identity; until: number }>();

  constructor(
    private readonly config: BatonConfig,
    private readonly slack: WebClient | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async responderFor(userId: string): Promise<Identity> {
    const listed = this.config.responders.find((r) => r.slackUserId === userId);
    if (listed) return { ok: true, responder: listed };
    const cached = this.cache.get(userId);
    if (cached && cached.until > this.now()) return cached.identity;
    const identity = await this.byEmail(userId);
    // A lookup that failed (Slack down, rate-limited) is not remembered: the next try asks again.
    if (identity.ok || !identity.reason.startsWith(LOOKUP_FAILED)) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(userId, { identity, until: this.now() + (identity.ok ? HIT_TTL_MS : MISS_TTL_MS) });
    }
    return identity;
  }

  private async byEmail(userId: string): Promise<Identity> {
    if (!this.slack) return unknownUser(userId);
    let user;
    try {
      user = (await this.slack.users.info({ user: userId })).user;
    } catch (err) {
      const error = slackErrorOf(err);
      if (error === 'user_not_found' || error === 'user_not_visible') return unknownUser(userId);
      return {
        ok: false,
        reason: `${LOOKUP_FAILED} (${escapeMrkdwn(error)}); nothing was changed, try again in a moment.`,
      };
    }
    const email = user?.profile?.email?.trim().toLowerCase();
    // A bot, a deactivated account or an address Slack does not say is confirmed is nobody's
    // word for a responder: only `is_email_confirmed: true` counts, never its absence.
    const confirmed = user?.is_email_confirmed === true;
    if (!user || user.deleted || user.is_bot || !email || !confirmed) {
      return unknownUser(userId, confirmed ? email : undefined);
    }
    const responder = this.config.responders.find((r) => r.email?.toLowerCase() === email);
    return responder ? { ok: true, responder } : unknownUser(userId, email);
  }
}

/** What an unknown Slack user is told: the one line their admin has to add. */
export function unknownUser(userId: string, email?: string): Identity {
  const id = escapeMrkdwn(userId);
  const byEmail = email
    ? ` (or to give your responder entry the email \`${escapeMrkdwn(email)}\`, the one on your Slack profile)`
    : '';
  return {
    ok: false,
    reason:
      `Baton does not know your Slack account (${id}), so nothing was changed. ` +
      `Ask your Baton admin to add \`slackUserId: ${id}\` to your entry under \`responders\` ` +
      `in Baton's configuration${byEmail}.`,
  };
}
