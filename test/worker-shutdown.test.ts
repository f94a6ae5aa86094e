/**
 * SIGTERM on the standalone worker (worker/main.ts): it stops polling and lets the task under
 * way finish within shutdown.worker.graceTime. A page email waiting to retry a refused
 * attempt when the signal comes is still retried and delivered, once, and the worker exits 0.
 * (Without a grace time the SDK cancels the activity at once: the retry would be left to
 * another worker.)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../api/app';
import { createTemporalClient } from '../api/temporal';
import { loadConfigFile } from '../config/load';
import { loadSecrets } from '../config/secrets';
import { cleanupsInReverse, firingGroup, receiverFor, terminateQueue } from './support/harness';
import { startSmtpSink } from './support/smtp';
import { startEntry } from './support/entry-process';
import { pinOnCallInYaml } from './support/on-call';

const onCleanup = cleanupsInReverse();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-worker-shutdown-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('worker/main.ts on SIGTERM', () => {
  it('lets the page email under way finish its retries before it exits 0', async () => {
    // The first attempt is refused for now (451): the send waits about a second to retry.
    const smtp = await startSmtpSink({ refuse: { code: 451, times: 1 } });
    onCleanup('SMTP server', () => smtp.close());

    const taskQueue = `worker-shutdown-${randomUUID().slice(0, 8)}`;
    const file = path.join(tmp, 'baton.yaml');
    writeFileSync(
      file,
      pinOnCallInYaml(readFileSync(path.join('config', 'baton.yaml'), 'utf8'), 'alice')
        .replace(/^dataDir: .*$/m, `dataDir: ${path.join(tmp, 'data')}`)
        .replace(/^ {2}taskQueue: .*$/m, `  taskQueue: ${taskQueue}`),
    );
    const config = loadConfigFile(file);
    config.temporal.address = inject('temporalAddress');

    const worker = startEntry('worker/main.ts', {
      ...process.env,
      BATON_CONFIG: file,
      TEMPORAL_ADDRESS: config.temporal.address,
      BATON_WORKER_METRICS: '',
      // The demo configuration has no email section: these turn email on.
      SMTP_HOST: smtp.host,
      SMTP_PORT: String(smtp.port),
      // The test server speaks plain SMTP on loopback.
      SMTP_REQUIRE_TLS: 'false',
    });
    onCleanup('worker process', () => {
      if (worker.running()) worker.kill('SIGKILL');
    });
    await worker.waitFor('Baton worker polling', 110_000);

    const temporal = createTemporalClient(config, loadSecrets(config, {}));
    onCleanup('Temporal client', () => temporal.connection.close());
    onCleanup('incidents', () => terminateQueue(temporal, taskQueue));
    const app = await buildApp({ config, secrets: loadSecrets(config, {}), temporal });
    onCleanup('API', () => app.close());
    const opened = await app.inject({
      method: 'POST',
      url: '/webhooks/alertmanager',
      headers: { authorization: 'Bearer alertmanager-demo-token' },
      payload: firingGroup(receiverFor('worker-shutdown'), 'ShutdownPage', 'sd1'),
    });
    expect(opened.statusCode, opened.body).toBe(202);

    const deadline = Date.now() + 30_000;
    while (smtp.refused === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(smtp.refused).toBe(1);
    expect(smtp.messages).toHaveLength(0);
    const signalledAt = Date.now();
    worker.kill('SIGTERM');

    expect(await worker.exited).toEqual({ code: 0, signal: null });
    // Retried and delivered after the signal, within the grace time, and only once.
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]?.to).toEqual(['alice@example.com']);
    expect(smtp.messages[0]?.acceptedAt).toBeGreaterThan(signalledAt);
    expect(worker.stderr()).not.toMatch(/^\s+at /m);
  });
});
