/**
 * Email's inbound half on the API: the action links' pages (where links can be checked and
 * people's browsers reach Baton) and the replies to Baton's emails (its own SMTP listener, or
 * a route a mail provider posts to).
 */
import type { FastifyInstance } from 'fastify';
import type { InboundContext } from '../../channel';
import { emailActionRoutes } from '../links/routes';
import { UsedLinks } from '../links/used-links';
import { mailerFor, type Mailer } from '../mailer';
import { startInboundListener, type InboundListener, type InboundListenerDeps } from './listener';
import { emailRoutes } from './route';

export interface EmailInboundOptions {
  /** Answers email replies (a refusal, a confirmation); built from notifications.email when not given. */
  mailer?: Mailer | undefined;
  /** mailauth's DNS resolver for replies' DKIM, SPF and DMARC; the system's when not given. */
  resolver?: InboundListenerDeps['resolver'] | undefined;
}

const listeners = new WeakMap<FastifyInstance, InboundListener>();

/** Where the app's email reply listener listens, if notifications.email.inbound turned it on. */
export function emailListenerOf(app: FastifyInstance): { host: string; port: number } | undefined {
  const listener = listeners.get(app);
  return listener ? { host: listener.host, port: listener.port } : undefined;
}

export async function mountEmailInbound(
  { app, config, secrets, incidents }: InboundContext,
  options: EmailInboundOptions,
): Promise<void> {
  const email = config.notifications.email;
  const linkSecret = secrets.emailLinkSecret;
  const { publicUrl } = config.api;
  if (email && linkSecret && publicUrl) {
    const used = new UsedLinks(config.dataDir);
    // A used link is refused for its expiry once it is older than any link lives: at start
    // and every hour, the ones past that are forgotten.
    const prune = (): void => {
      used.prune(email.linkTtl + 3_600_000).catch((err: unknown) => {
        app.log.warn({ err }, 'used email links could not be pruned');
      });
    };
    prune();
    const pruning = setInterval(prune, 3_600_000);
    pruning.unref();
    app.addHook('onClose', async () => clearInterval(pruning));
    await app.register(
      emailActionRoutes({
        config,
        incidents,
        secret: linkSecret,
        publicUrl,
        linkTtlMs: email.linkTtl,
        used,
      }),
    );
  }
  if (email && (email.inbound || email.inboundRoute)) {
    const mailer = options.mailer ?? mailerFor(config, secrets);
    const inboundDeps = {
      config,
      incidents,
      secrets,
      mailer,
      log: app.log,
      ...(options.resolver ? { resolver: options.resolver } : {}),
    };
    if (email.inboundRoute) await app.register(emailRoutes(inboundDeps));
    if (email.inbound) {
      const listener = await startInboundListener(inboundDeps);
      listeners.set(app, listener);
      app.log.info({ host: listener.host, port: listener.port }, 'email reply listener started');
      app.addHook('onClose', async () => {
        await listener.close();
      });
    }
    if (mailer && !options.mailer) app.addHook('onClose', () => mailer.transport.close());
  }
}
