/**
 * A flapping alert through a real Alertmanager: it fires, clears before anyone acknowledges
 * (the default policy resolves the incident), and fires again. The incident reopens and
 * paging goes on through the whole escalation policy until someone acknowledges.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertGroupWorkflowId } from '../api/incidents';
import { acknowledgeUpdate } from '../workflows/incident/messages';
import { amtoolAdd, startAlertmanager, type Alertmanager } from './support/alertmanager';
import { buildTestApp, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { by, state, type IncidentHandle } from './support/incidents';
import { eventsOf, waitForEvents } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;
let app: FastifyInstance;
let am: Alertmanager;
const receiver = `baton-flap-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  w = await startTestWorker(
    testConfig((c) => {
      const team = c.teams[0];
      if (!team) throw new Error('the test configuration has a team');
      team.escalation = {
        steps: [
          { notify: ['alice'], ackTimeout: '4s' },
          { notify: ['bob'], ackTimeout: '4s' },
        ],
        repeat: 1,
      };
    }),
    'am-flap',
  );
  app = await buildTestApp(w);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  am = await startAlertmanager({
    receiver,
    webhook: { url: `${address}/webhooks/alertmanager`, bearer: TOKENS.webhook },
  });
});

afterAll(async () => {
  await am?.stop();
  await app?.close();
  await w?.stop();
});

describe('a flapping alert sent by a real Alertmanager', () => {
  it('pages Level 2, then the next step and the managers until someone acknowledges', async () => {
    const labels = { alertname: 'CheckoutErrors', service: 'payments', severity: 'warning' };
    const firstStart = new Date();
    await amtoolAdd(am, { labels, startsAt: firstStart });
    const id = alertGroupWorkflowId(receiver, `{}:{alertname="CheckoutErrors", service="payments"}`);
    const handle: IncidentHandle = w.client.workflow.getHandle(id);
    await waitForEvents(handle, 'paged', 1, 30_000);

    // Cleared before anyone acknowledged: Alertmanager sends it resolved, the incident resolves.
    await amtoolAdd(am, { labels, startsAt: firstStart, endsAt: new Date() });
    const resolved = await waitForEvents(handle, 'resolved', 1, 30_000);
    expect(resolved).toMatchObject({ phase: 'post-incident', resolution: { automatic: true } });

    // It fires again: the incident is back, and paging goes on until someone acknowledges.
    await amtoolAdd(am, { labels, startsAt: new Date() });
    const s = await waitForEvents(handle, 'escalation-exhausted', 1, 60_000);
    expect(eventsOf(s, 'reopened')).toHaveLength(1);
    expect(s.phase).toBe('triggered');
    expect(eventsOf(s, 'paged').map((e) => e.details?.to)).toEqual([['alice'], ['bob']]);
    expect(eventsOf(s, 'escalation-exhausted')[0]?.details?.to).toEqual(['dave']);
    const kinds = s.timeline.map((e) => e.kind);
    expect(kinds.indexOf('reopened')).toBeLessThan(kinds.lastIndexOf('paged'));

    await handle.executeUpdate(acknowledgeUpdate, { args: [by('dave')] });
    expect(await state(handle)).toMatchObject({ phase: 'acknowledged', holder: 'dave' });
    await handle.terminate('test finished');
  }, 120_000);
});
