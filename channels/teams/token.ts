/**
 * The bot's token for the Bot Connector: asked for with the bot's app id and client secret
 * (OAuth 2.0 client credentials, scope api.botframework.com) and kept until a few minutes
 * before it expires, so a storm of pages asks once. Two sends that need one at the same
 * moment share one request.
 */
export interface BotTokenSettings {
  appId: string;
  password: string;
  tokenUrl: string;
  /** The clock, for tests. */
  now?: () => number;
}

const SCOPE = 'https://api.botframework.com/.default';
/** A token is renewed this long before it expires. */
const RENEW_BEFORE_MS = 5 * 60_000;

export class BotTokens {
  private current: { token: string; expiresAt: number } | undefined;
  private asking: Promise<string> | undefined;

  constructor(private readonly settings: BotTokenSettings) {}

  private now(): number {
    return this.settings.now?.() ?? Date.now();
  }

  /** Forgets the kept token: the Bot Connector refused it, so the next send asks anew. */
  forget(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  async token(): Promise<string> {
    if (this.current && this.current.expiresAt - RENEW_BEFORE_MS > this.now()) return this.current.token;
    this.asking ??= this.ask().finally(() => {
      this.asking = undefined;
    });
    return this.asking;
  }

  private async ask(): Promise<string> {
    const response = await fetch(this.settings.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.settings.appId,
        client_secret: this.settings.password,
        scope: SCOPE,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok || typeof body.access_token !== 'string') {
      // The error's description names what is wrong (a wrong secret, an unknown app); never the secret.
      const described = typeof body.error_description === 'string' ? body.error_description : body.error;
      throw new BotTokenError(
        response.status,
        typeof described === 'string' ? described : 'no token in the answer',
      );
    }
    const seconds = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3_600);
    this.current = {
      token: body.access_token,
      expiresAt: this.now() + (Number.isFinite(seconds) ? seconds : 3_600) * 1000,
    };
    return body.access_token;
  }
}

/** The token service refused the bot's credentials, or answered something that is not a token. */
export class BotTokenError extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`the Teams bot's token was refused (HTTP ${status}): ${detail.slice(0, 300)}`);
    this.name = 'BotTokenError';
  }
}
