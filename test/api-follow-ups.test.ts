/**
 * Customer messages, required follow-ups and training confirmations through the HTTP API:
 * the team's notice template fills a draft, the approver reads exactly that text, and each
 * member confirms their own training.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentState } from '../workflows/incident/state';
import { auth, buildTestApp } from './support/app';
import { testConfig } from './support/config';
import { waitForOutbox } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;
let app: FastifyInstance;

beforeAll(async () => {
  w = await startTestWorker(testConfig(), 'api-follow-ups');
  app = await buildTestApp(w);
});
afterAll(async () => {
  await app?.close();
  await w?.stop();
});

async function declare(severity: string): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: auth('alice'),
    payload: { title: 'Card payments failing', service: 'payments', severity },
  });
  expect(response.statusCode).toBe(201);
  return response.json<{ id: string }>().id;
}

function post(id: string, path: string, who: Parameters<typeof auth>[0], payload: object = {}) {
  return app.inject({ method: 'POST', url: `/api/v1/incidents/${id}/${path}`, headers: auth(who), payload });
}

async function ok(id: string, path: string, who: Parameters<typeof auth>[0], payload: object = {}) {
  const response = await post(id, path, who, payload);
  expect(response.statusCode, `${path}: ${response.body}`).toBe(200);
  return response.json<IncidentState>();
}

describe('customer messages through the API', () => {
  it('drafts from the notice template, and sends only what the manager approved', async () => {
    const id = await declare('SEV2');
    await ok(id, 'acknowledge', 'alice');
    const drafted = await ok(id, 'customer-messages', 'alice', {
      affected: 'Card payments in the EU',
      since: '10:00 UTC',
      expectation: 'Some payments fail; retrying usually works.',
      nextUpdate: '11:00 UTC',
    });
    const draft = drafted.customerMessages?.[0];
    expect(draft).toMatchObject({ id: 'customer-1', draftedBy: 'alice', status: 'pending' });
    expect(draft?.message).toBe(
      [
        'Service notice: payments',
        '',
        'What is affected: Card payments in the EU',
        'Since: 10:00 UTC',
        '',
        'What to expect: Some payments fail; retrying usually works.',
        '',
        'Next update: 11:00 UTC',
      ].join('\n'),
    );
    expect(drafted.communications).toEqual([]);

    // Neither the exact text and the template's fields together, nor half the fields.
    const both = await post(id, 'customer-messages', 'alice', { message: 'x', affected: 'y' });
    expect(both.statusCode).toBe(400);
    const half = await post(id, 'customer-messages', 'alice', { affected: 'y' });
    expect(half.statusCode).toBe(400);

    const notApprover = await post(id, 'customer-messages/customer-1/approve', 'alice');
    expect(notApprover.statusCode).toBe(403);
    const noReason = await post(id, 'customer-messages/customer-1/reject', 'dave', {});
    expect(noReason.statusCode).toBe(400);
    const approved = await ok(id, 'customer-messages/customer-1/approve', 'dave');
    expect(approved.communications.at(-1)).toMatchObject({
      audience: 'external',
      by: 'alice',
      approvedBy: 'dave',
      message: draft?.message,
    });
    const twice = await post(id, 'customer-messages/customer-1/reject', 'dave', { reason: 'late' });
    expect(twice.statusCode).toBe(409);
    expect(twice.json<{ error: string }>().error).toBe(
      'customer message "customer-1" was already approved by dave',
    );
    // Delivered after the step: wait for the outbox to have it, then check it went alone.
    const sent = (
      await waitForOutbox(w, id, (entries) => entries.some((e) => e.notification.kind === 'external'))
    )
      .map((e) => e.notification)
      .filter((n) => n.kind === 'external');
    expect(sent.map((n) => n.text)).toEqual([draft?.message]);
  });

  it('a team’s own notice template is used, and one that does not compile stops the API at start', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-notice-'));
    const own = path.join(dir, 'notice.txt.hbs');
    writeFileSync(own, '{{service}} is affected ({{affected}}). Next: {{nextUpdate}}. {{expectation}}');
    const config = { ...w.config, documents: { customerNoticeTemplate: own } };
    const custom = await buildTestApp(w, config);
    try {
      const id = await declare('SEV3');
      const response = await custom.inject({
        method: 'POST',
        url: `/api/v1/incidents/${id}/customer-messages`,
        headers: auth('bob'),
        payload: { affected: 'cards', expectation: 'Retry later.', nextUpdate: 'noon' },
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json<IncidentState>().customerMessages?.[0]?.message).toBe(
        'payments is affected (cards). Next: noon. Retry later.',
      );
    } finally {
      await custom.close();
    }
    writeFileSync(own, '{{#if}}');
    await expect(buildTestApp(w, config)).rejects.toThrow(`customer notice template ${own}`);
  });
});

describe('follow-ups through the API', () => {
  it('a manager requires the lessons of a SEV3; each member confirms training for themselves', async () => {
    const id = await declare('SEV3');
    await ok(id, 'acknowledge', 'bob');
    expect((await post(id, 'follow-ups', 'bob', { kind: 'lessons', reason: 'x' })).statusCode).toBe(403);
    expect((await post(id, 'follow-ups', 'dave', { kind: 'postmortem', reason: 'x' })).statusCode).toBe(400);
    await ok(id, 'follow-ups', 'dave', { kind: 'training', reason: 'the new on-call rota' });
    const resolved = await ok(id, 'resolve', 'bob', { summary: 'rolled back' });
    expect(resolved.followUps.map((f) => f.kind)).toEqual(['report', 'training']);
    expect(resolved.followUps[1]?.attendance?.map((a) => a.member)).toEqual([
      'alice',
      'bob',
      'carol',
      'erin',
      'dave',
    ]);
    const confirmed = await ok(id, 'training/confirmations', 'carol', { note: 'read the material' });
    expect(confirmed.followUps[1]?.attendance?.find((a) => a.member === 'carol')?.status).toBe('confirmed');
    expect((await post(id, 'training/confirmations', 'carol')).statusCode).toBe(409);
    expect((await post(id, 'training/excusals', 'alice', { member: 'erin', reason: 'x' })).statusCode).toBe(
      403,
    );
    const excused = await ok(id, 'training/excusals', 'dave', { member: 'erin', reason: 'on leave' });
    expect(excused.followUps[1]?.attendance?.find((a) => a.member === 'erin')).toMatchObject({
      status: 'excused',
      excusedBy: 'dave',
      reason: 'on leave',
    });
    for (const who of ['alice', 'bob'] as const) await ok(id, 'training/confirmations', who);
    const done = await ok(id, 'training/confirmations', 'dave');
    expect(done.followUps[1]).toMatchObject({ status: 'done' });
    expect(done.followUps[0]).toMatchObject({ id: 'report', status: 'open' });
  });
});
