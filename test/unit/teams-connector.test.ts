import { connect } from 'node:net';
import { Client } from '@microsoft/teams.api';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTeamsConnector, type TeamsConnector } from '../support/teams-connector';

const CHANNEL = '19:incidents@thread.tacv2';

/** What the Bot Connector answers: an id, or an error. */
interface ConnectorAnswer {
  id?: string;
  error?: { code: string; message: string };
}

describe('the Teams stand-in', () => {
  let connector: TeamsConnector;
  beforeEach(async () => {
    connector = await startTeamsConnector();
  });
  afterEach(async () => {
    await connector.close();
  });

  /** A call to the stand-in's Bot Connector API; `path` is sent as written (fetch keeps `: @ ; =`). */
  const call = async (method: string, path: string, body?: unknown, token?: string | null) => {
    const bearer = token === undefined ? await connector.botToken() : token;
    const res = await fetch(`${connector.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as ConnectorAnswer };
  };
  const keysUrl = () => new URL(`${connector.url}/v1/.well-known/keys`);
  const verify = (token: string) =>
    jwtVerify(token, createRemoteJWKSet(keysUrl()), {
      issuer: 'https://api.botframework.com',
      audience: connector.appId,
      algorithms: ['RS256'],
    });

  it('serves OpenID metadata that points at its keys, and counts the fetches', async () => {
    expect(connector.serviceUrl).toBe(`${connector.url}/`);
    expect(connector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(connector.openIdMetadataUrl).toBe(`${connector.url}/v1/.well-known/openidconfiguration`);
    const res = await fetch(connector.openIdMetadataUrl);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      issuer: 'https://api.botframework.com',
      jwks_uri: keysUrl().href,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    expect(connector.hits).toEqual({ metadata: 1, keys: 0, tokens: 0 });
  });

  it('serves its public key as the Bot Framework publishes keys, and counts the fetches', async () => {
    const res = await fetch(keysUrl());
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      kty: 'RSA',
      kid: 'baton-test-connector',
      use: 'sig',
      alg: 'RS256',
      endorsements: ['msteams'],
    });
    expect(keys[0]).not.toHaveProperty('d'); // the public half only
    expect(connector.hits).toEqual({ metadata: 0, keys: 1, tokens: 0 });
  });

  it('signs inbound tokens that verify against its keys URL as the Bot Connector, for the app', async () => {
    const token = await connector.inboundToken();
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', kid: 'baton-test-connector' });
    const { payload } = await verify(token);
    expect(payload.serviceurl).toBe(connector.serviceUrl);
    expect(payload.aud).toBe('00000000-0000-4000-8000-00000000b0b0');
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.nbf).toBe(payload.iat);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(5);
    expect(connector.hits.keys).toBe(1);

    const bare = await verify(await connector.inboundToken({ serviceUrl: null }));
    expect(bare.payload).not.toHaveProperty('serviceurl');
    const elsewhere = await verify(await connector.inboundToken({ serviceUrl: 'http://127.0.0.1:1/' }));
    expect(elsewhere.payload.serviceurl).toBe('http://127.0.0.1:1/');
  });

  it('takes the app id and tenant id it is given', async () => {
    const other = await startTeamsConnector({ appId: 'app-2', tenantId: 'tenant-2' });
    try {
      expect([other.appId, other.tenantId]).toEqual(['app-2', 'tenant-2']);
      const { payload } = await jwtVerify(
        await other.inboundToken(),
        createRemoteJWKSet(new URL(`${other.url}/v1/.well-known/keys`)),
        { audience: 'app-2' },
      );
      expect(payload.aud).toBe('app-2');
    } finally {
      await other.close();
    }
    expect(connector.tenantId).toBe('11111111-1111-4111-8111-111111111111');
  });

  it('signs forged, expired, wrong-audience and wrong-issuer tokens that do not verify', async () => {
    await expect(verify(await connector.inboundToken({ forged: true }))).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
    await expect(verify(await connector.inboundToken({ expiresInSeconds: -600 }))).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
    });
    await expect(verify(await connector.inboundToken({ audience: 'another-app' }))).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'aud',
    });
    await expect(
      verify(await connector.inboundToken({ issuer: 'https://evil.example' })),
    ).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iss' });
  });

  it('refuses /v3 calls without a bearer JWT signed by its key, with a JSON error, and records them', async () => {
    const path = `/v3/conversations/${CHANNEL}/activities`;
    const activity = { type: 'message', text: 'hello' };
    for (const token of [null, 'not-a-jwt', await connector.inboundToken({ forged: true })]) {
      const res = await call('POST', path, activity, token);
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ error: { code: 'Unauthorized' } });
    }
    const expired = await call(
      'POST',
      path,
      activity,
      await connector.inboundToken({ expiresInSeconds: -60 }),
    );
    expect(expired.status).toBe(401);
    expect(connector.calls.map((c) => c.status)).toEqual([401, 401, 401, 401]);
    expect(connector.calls[0]).toMatchObject({ method: 'POST', body: activity });

    const accepted = await call('POST', path, activity, await connector.botToken());
    expect(accepted.status).toBe(201);
    expect(connector.calls.at(-1)?.status).toBe(201);
  });

  it('creates one 1:1 conversation per member', async () => {
    const create = (member: string) =>
      call('POST', '/v3/conversations', {
        isGroup: false,
        bot: { id: `28:${connector.appId}` },
        members: [{ id: member }],
        tenantId: connector.tenantId,
        channelData: { tenant: { id: connector.tenantId } },
      });
    const first = await create('29:alice');
    expect(first.status).toBe(201);
    expect(first.json).toEqual({ id: 'a:personal-29:alice' });
    const again = await create('29:alice');
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect((await create('29:bob')).json).toEqual({ id: 'a:personal-29:bob' });
    expect(connector.calls.map((c) => c.conversationId)).toEqual([
      'a:personal-29:alice',
      'a:personal-29:alice',
      'a:personal-29:bob',
    ]);
    expect((await call('POST', '/v3/conversations', { members: [] })).status).toBe(400);
  });

  it('records posts, replies (every form) and updates under raw and percent-encoded conversation ids', async () => {
    const encoded = encodeURIComponent(CHANNEL);
    const card = (text: string) => ({
      type: 'message',
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { text } }],
    });
    const root = await call('POST', `/v3/conversations/${CHANNEL}/activities`, card('INC-42 SEV1'));
    expect(root.status).toBe(201);
    const rootId = String(root.json.id);

    const replies = [
      // teams.api's replyToActivity: the root in the body.
      await call('POST', `/v3/conversations/${encoded}/activities`, { type: 'message', replyToId: rootId }),
      // App.reply: a thread id.
      await call('POST', `/v3/conversations/${CHANNEL};messageid=${rootId}/activities`, { type: 'message' }),
      await call(
        'POST',
        `/v3/conversations/${encodeURIComponent(`${CHANNEL};messageid=${rootId}`)}/activities`,
        {
          type: 'message',
        },
      ),
      // The Agents SDK's replyToActivity: the root in the path.
      await call('POST', `/v3/conversations/${CHANNEL}/activities/${rootId}`, { type: 'message' }),
    ];
    expect(replies.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const replyIds = replies.map((r) => String(r.json.id));
    expect(new Set([rootId, ...replyIds]).size).toBe(5);
    expect(connector.repliesTo(rootId).map((a) => a.id)).toEqual(replyIds);

    const raw = await call('PUT', `/v3/conversations/${CHANNEL}/activities/${rootId}`, card('acknowledged'));
    expect(raw).toMatchObject({ status: 200, json: { id: rootId } });
    const viaEncoded = await call(
      'PUT',
      `/v3/conversations/${encoded}/activities/${rootId}`,
      card('resolved'),
    );
    expect(viaEncoded).toMatchObject({ status: 200, json: { id: rootId } });
    expect(connector.activity(rootId)).toMatchObject({
      conversationId: CHANNEL,
      body: card('resolved'),
      updates: 2,
    });

    expect(connector.calls.map((c) => [c.method, c.conversationId, c.activityId, c.replyToId])).toEqual([
      ['POST', CHANNEL, rootId, undefined],
      ...replyIds.map((id) => ['POST', CHANNEL, id, rootId]),
      ['PUT', CHANNEL, rootId, undefined],
      ['PUT', CHANNEL, rootId, undefined],
    ]);
    // The ids really arrived both ways.
    expect(connector.calls[0]?.path).toBe(`/v3/conversations/${CHANNEL}/activities`);
    expect(connector.calls[1]?.path).toBe(`/v3/conversations/${encoded}/activities`);
    expect(connector.calls.every((c) => typeof c.at === 'number' && c.at <= Date.now())).toBe(true);
  });

  it('answers 404 to an update of an activity it never posted there', async () => {
    const posted = await call('POST', `/v3/conversations/${CHANNEL}/activities`, { type: 'message' });
    const id = String(posted.json.id);
    const unknown = await call('PUT', `/v3/conversations/${CHANNEL}/activities/999`, { type: 'message' });
    expect(unknown).toMatchObject({ status: 404, json: { error: { code: 'ActivityNotFound' } } });
    const elsewhere = await call('PUT', `/v3/conversations/19:other@thread.tacv2/activities/${id}`, {
      type: 'message',
    });
    expect(elsewhere.status).toBe(404);
    expect(connector.activity(id)?.updates).toBe(0);
  });

  it('throttles the next calls with 429 and Retry-After, then recovers', async () => {
    const path = `/v3/conversations/${CHANNEL}/activities`;
    connector.throttle(2, 7);
    for (let i = 0; i < 2; i += 1) {
      const res = await call('POST', path, { type: 'message', text: `try ${i}` });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(res.json.error?.code).toBe('TooManyRequests');
      expect(res.json.error?.message).toMatch(/./);
    }
    const after = await call('POST', path, { type: 'message', text: 'try 2' });
    expect(after.status).toBe(201);
    expect(connector.calls.map((c) => c.status)).toEqual([429, 429, 201]);
    expect(connector.calls.map((c) => c.activityId)).toEqual([undefined, undefined, after.json.id]);
  });

  it('takes bodies of a few MB and answers malformed JSON with 400, and keeps serving', async () => {
    const path = `/v3/conversations/${CHANNEL}/activities`;
    const big = { type: 'message', text: 'x'.repeat(3 * 1024 * 1024) };
    const large = await call('POST', path, big);
    expect(large.status).toBe(201);
    expect(connector.activity(String(large.json.id))?.body).toEqual(big);

    const malformed = await call('POST', path, '{"type": "message",');
    expect(malformed).toMatchObject({ status: 400, json: { error: { code: 'BadSyntax' } } });
    expect(connector.calls.at(-1)).toMatchObject({ status: 400, body: '{"type": "message",' });
    const badEscape = await call('POST', '/v3/conversations/19%3Ax%E0%A4%A/activities', { type: 'message' });
    expect(badEscape).toMatchObject({ status: 400, json: { error: { code: 'BadArgument' } } });

    // A client that hangs up halfway through its body.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(new URL(connector.url).port), '127.0.0.1', () => {
        socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{"type":`);
        setTimeout(() => socket.destroy(), 20);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    expect((await call('POST', path, { type: 'message' })).status).toBe(201);
  });

  it('waits for calls that match, and says what arrived when they never do', async () => {
    const path = `/v3/conversations/${CHANNEL}/activities`;
    const waiting = connector.waitFor((calls) => calls.some((c) => c.status === 201));
    setTimeout(() => void call('POST', path, { type: 'message' }), 50);
    const calls = await waiting;
    expect(calls.map((c) => c.status)).toEqual([201]);

    await expect(connector.waitFor((all) => all.length > 5, 100)).rejects.toThrow(
      `did not match within 100 ms; 1 call(s) arrived: POST ${path} -> 201`,
    );
  });

  it('serves the Teams SDK client (teams.api) as Baton will call it', async () => {
    // teams.api 2.0.x does not strip a trailing slash, so the client gets the url without it.
    const client = new Client(connector.url, { token: () => connector.botToken() });
    const conversation = await client.conversations.create({
      isGroup: false,
      bot: { id: `28:${connector.appId}` },
      members: [{ id: '29:alice', role: 'user', name: 'Alice' }],
      tenantId: connector.tenantId,
    });
    expect(conversation.id).toBe('a:personal-29:alice');
    const sent = await client.conversations.createActivity(CHANNEL, { type: 'message', text: 'INC-42' });
    await client.conversations.updateActivity(CHANNEL, sent.id, { type: 'message', text: 'INC-42 acked' });
    const reply = await client.conversations.replyToActivity(CHANNEL, sent.id, {
      type: 'message',
      text: 'ack',
    });
    expect(connector.activity(sent.id)?.body).toMatchObject({ text: 'INC-42 acked' });
    expect(connector.repliesTo(sent.id).map((a) => a.id)).toEqual([reply.id]);

    connector.throttle(1, 3);
    const error = await client.conversations.createActivity(CHANNEL, { type: 'message', text: 'again' }).then(
      () => undefined,
      (err: unknown) => err as { response?: { status: number; headers: object } },
    );
    expect(error?.response?.status).toBe(429);
    expect(error?.response?.headers).toMatchObject({ 'retry-after': '3' });
  });
});
