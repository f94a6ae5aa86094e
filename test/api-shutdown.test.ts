/**
 * SIGTERM on the API: it stops taking connections at once, finishes the requests under way,
 * and exits; a request that outlasts the grace time is cut rather than holding the process.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { closeGracefully } from '../api/shutdown';
import { startEntry } from './support/entry-process';
import { freePort } from './support/ports';
import { eventually } from './support/worker';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-api-shutdown-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Whether a new connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/**
 * An HTTP request written by hand, so that a test decides when its body arrives: the head
 * and the first part now, the rest with `finish()`. `answer` is the raw response.
 */
function slowRequest(port: number, head: string, body: string) {
  const socket = net.connect({ host: '127.0.0.1', port });
  let raw = '';
  socket.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
  const answer = new Promise<string>((resolve, reject) => {
    socket.once('close', () => resolve(raw));
    socket.once('error', reject);
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const half = Math.floor(body.length / 2);
  return {
    async start() {
      await connected;
      socket.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`);
      socket.write(body.slice(0, half));
    },
    finish() {
      socket.write(body.slice(half));
    },
    answer,
  };
}

describe('closeGracefully', () => {
  it('lets a request under way finish while refusing new connections', async () => {
    const app = Fastify();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrived: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (arrived = resolve));
    app.get('/slow', async () => {
      arrived();
      await released;
      return { done: true };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as net.AddressInfo;
    const answer = fetch(`http://127.0.0.1:${port}/slow`).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    }));
    await inside;
    const closing = closeGracefully(app, 10_000);
    await eventually(async () => ((await refused(port)) ? true : undefined), 5_000);
    release();
    expect(await answer).toEqual({ status: 200, body: { done: true } });
    expect(await closing).toBe(true);
  });

  it('cuts a request that outlasts the grace time', async () => {
    const app = Fastify();
    app.get('/stuck', () => new Promise(() => undefined));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as net.AddressInfo;
    const answer = fetch(`http://127.0.0.1:${port}/stuck`).then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    expect(await closeGracefully(app, 500)).toBe(false);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(5_000);
    expect(await answer).toBe('cut');
  });
});

describe('api/server.ts on SIGTERM', () => {
  it('finishes a webhook request under way, refuses new connections, and exits 0', async () => {
    const port = await freePort();
    const api = startEntry('api/server.ts', {
      ...process.env,
      BATON_CONFIG: path.join('config', 'baton.yaml'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      HOST: '127.0.0.1',
      PORT: String(port),
      BATON_DATA_DIR: path.join(tmp, 'data'),
      LOG_LEVEL: 'info',
      BATON_WORKER_METRICS: '',
      BATON_METRICS_TOKEN: '',
    });
    try {
      await api.waitFor(`Metrics at http://127.0.0.1:${port}/metrics (open: no token)`, 60_000);

      // A resolved notification for a group without an incident: Temporal is asked, nothing opens.
      const body = JSON.stringify({
        version: '4',
        groupKey: `{}:{alertname="Shutdown-${randomUUID()}"}`,
        status: 'resolved',
        receiver: 'baton-shutdown-test',
        alerts: [
          {
            status: 'resolved',
            labels: { alertname: 'Shutdown', service: 'payments' },
            startsAt: new Date().toISOString(),
            endsAt: new Date().toISOString(),
            fingerprint: 'f-shutdown',
          },
        ],
      });
      const request = slowRequest(
        port,
        'POST /webhooks/alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
          'Authorization: Bearer alertmanager-demo-token\r\nContent-Type: application/json\r\n',
        body,
      );
      await request.start();
      await api.waitFor('"url":"/webhooks/alertmanager"', 10_000);

      api.kill('SIGTERM');
      await api.waitFor('stopping: no new connections', 10_000);
      await eventually(async () => ((await refused(port)) ? true : undefined), 5_000);
      expect(api.running()).toBe(true);

      request.finish();
      const raw = await request.answer;
      expect(raw).toMatch(/^HTTP\/1\.1 202 /);
      expect(raw).toContain('{"incidents":[]}');
      expect(await api.exited).toEqual({ code: 0, signal: null });
    } finally {
      if (api.running()) api.kill('SIGKILL');
    }
  });
});
