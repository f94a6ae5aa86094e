/** What a failed Teams send means: worth trying again, or final. */
import { field, SendTimeout, type Verdict } from '../../activities/delivery-errors';
import { BotTokenError } from './token';

/** The person has no chat with Baton in Teams: nobody can write to them until they install the app. */
export class TeamsNotInstalled extends Error {
  constructor(aadObjectId: string) {
    super(`${aadObjectId} has not installed Baton's Teams app, so Baton cannot write to them`);
    this.name = 'TeamsNotInstalled';
  }
}

/** The person's kept conversation cannot be read: nothing a retry would change. */
export class TeamsConversationUnreadable extends Error {
  constructor(aadObjectId: string, detail: string) {
    super(`the Teams conversation kept for ${aadObjectId} cannot be read: ${detail}`);
    this.name = 'TeamsConversationUnreadable';
  }
}

/**
 * Worth trying again: Teams busy or down, 412 (a concurrent change, which Teams asks bots to
 * retry) and 401 (the bot's token was refused: the next try asks for a new one).
 */
const retryable = (status: number): boolean =>
  status >= 500 || status === 408 || status === 429 || status === 412 || status === 401;

export function classifyTeamsError(err: unknown): Verdict {
  if (err instanceof SendTimeout) return { retry: true, reason: 'no answer within the send deadline' };
  if (err instanceof TeamsNotInstalled || err instanceof TeamsConversationUnreadable) {
    return { retry: false, reason: err.message };
  }
  if (err instanceof BotTokenError) {
    return err.status >= 500 || err.status === 429 || err.status === 408
      ? { retry: true, reason: `the token service answered HTTP ${err.status}` }
      : { retry: false, reason: err.message };
  }
  // The SDK's client fails with an AxiosError: the Bot Connector's answer is its response.
  const response = field(err, 'response');
  const status = field(response, 'status');
  if (typeof status !== 'number') return { retry: true, reason: 'no answer from Teams (network)' };
  if (status === 429) {
    const seconds = Number(field(field(response, 'headers'), 'retry-after'));
    return Number.isFinite(seconds) && seconds >= 0
      ? { retry: true, reason: 'rate limited (HTTP 429)', retryAfterMs: seconds * 1000 }
      : { retry: true, reason: 'rate limited (HTTP 429)' };
  }
  if (retryable(status)) return { retry: true, reason: `HTTP ${status}` };
  // A 4xx other than those: the conversation is gone, the bot was removed, the card is refused.
  return { retry: false, reason: `Teams answered HTTP ${status}` };
}
