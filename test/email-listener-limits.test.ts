/**
 * Baton's SMTP listener against raw TCP connections on loopback, without Temporal: how many
 * connections one address may hold open at once (so that it cannot take every slot of
 * maxConnections), and how long a connection that says nothing is kept.
 */
import net from 'node:net';
import { SOCKET_TIMEOUT } from 'smtp-server/lib/smtp-connection.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmailIncidents, EmailLog } from '../channels/email/inbound/act';
import {
  IDLE_TIMEOUT_MS,
  PER_ADDRESS,
  startInboundListener,
  type InboundListener,
  type InboundListenerDeps,
} from '../channels/email/inbound/listener';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { testConfig } from './support/config';

const SECRET = 'listener-limits-secret';

const config: BatonConfig = testConfig((c) => {
  c.api = { publicUrl: 'http://baton.test' };
  c.notifications = {
    email: {
      from: 'Baton <baton@example.com>',
      smtp: { host: '127.0.0.1', port: 9, secure: false },
      linkSecretEnv: 'BATON_EMAIL_SECRET',
      replyDomain: 'reply.example.com',
      inbound: { host: '127.0.0.1', port: 0, maxConnections: 20 },
    },
  };
});

const warnings: string[] = [];
const log: EmailLog = {
  info: () => {},
  warn: (_fields, message) => warnings.push(message),
  error: () => {},
};
// No connection here gets as far as a message: nothing may reach an incident.
const incidents: EmailIncidents = {
  step: () => Promise.reject(new Error('no step expected')),
  note: () => Promise.reject(new Error('no note expected')),
  recordRefusedEmail: () => Promise.reject(new Error('no refusal expected')),
};

const listeners: InboundListener[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
  warnings.length = 0;
});

async function listener(extra: Partial<InboundListenerDeps> = {}): Promise<InboundListener> {
  const started = await startInboundListener({
    config,
    incidents,
    secrets: loadSecrets(config, { BATON_EMAIL_SECRET: SECRET }),
    log,
    closeTimeoutMs: 200,
    ...extra,
  });
  listeners.push(started);
  return started;
}

/** A client connection and the lines the server sends it, as they come. */
interface Client {
  socket: net.Socket;
  /** The next line the server sends (without CRLF). */
  line(): Promise<string>;
  closed: Promise<void>;
}

function connect(to: InboundListener, localAddress = '127.0.0.1'): Client {
  const socket = net.connect({ host: to.host, port: to.port, localAddress });
  sockets.push(socket);
  let buffer = '';
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    }
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    line: () => {
      const ready = lines.shift();
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve) => waiting.push(resolve));
    },
    closed,
  };
}

describe('connections at once from one address', () => {
  it('refuses one past the cap with 421, while another address and a freed slot are taken', async () => {
    const smtp = await listener();
    const held = [connect(smtp), connect(smtp), connect(smtp)];
    for (const client of held) expect(await client.line()).toMatch(/^220 /);

    const fourth = connect(smtp);
    expect(await fourth.line()).toBe(
      '421 4.7.0 too many connections at once from your address; try again later',
    );
    await fourth.closed;
    expect(PER_ADDRESS.concurrent).toBe(3);
    expect(warnings).toEqual(['inbound SMTP connections refused: too many open at once from this address']);

    // Another address has slots of its own, well below maxConnections (20).
    const other = connect(smtp, '127.0.0.2');
    expect(await other.line()).toMatch(/^220 /);

    // A connection that ends gives its slot back.
    held[0]?.socket.end('QUIT\r\n');
    expect(await held[0]?.line()).toMatch(/^221 /);
    await held[0]?.closed;
    // smtp-server reports the close on the next turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await connect(smtp).line()).toMatch(/^220 /);
    // …and a refused one took none: the cap is full again.
    expect(await connect(smtp).line()).toMatch(/^421 4\.7\.0 too many connections at once/);
  });
});

describe('a connection that says nothing', () => {
  it('is closed with 421 once the idle timeout passes', async () => {
    const smtp = await listener({ idleTimeoutMs: 400 });
    const client = connect(smtp);
    expect(await client.line()).toMatch(/^220 /);
    const started = Date.now();
    expect(await client.line()).toMatch(/^421 .*Timeout - closing connection/);
    await client.closed;
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(350);
    expect(waited).toBeLessThan(5_000);
  });

  it('is kept for less by default than smtp-server would keep it', () => {
    expect(IDLE_TIMEOUT_MS).toBeLessThan(SOCKET_TIMEOUT);
  });
});
