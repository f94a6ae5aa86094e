import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkLink,
  checkReplyAddress,
  newNonce,
  replyAddress,
  signLink,
  type LinkClaims,
} from '../../channels/email/tokens';
import { UsedLinks } from '../../channels/email/links/used-links';

const SECRET = 'unit-test-secret';

function claims(overrides: Partial<LinkClaims> = {}): LinkClaims {
  return {
    incident: 'alertgroup-0123456789abcdef01234567',
    responder: 'alice',
    step: 'acknowledge',
    phase: 'triggered',
    response: 0,
    expiresAt: 2_000_000_000_000,
    nonce: newNonce(),
    ...overrides,
  };
}

describe('action link tokens', () => {
  it('round-trips what they were signed with', () => {
    const signed = claims({ step: 'acceptHandover', phase: 'escalated', response: 2 });
    expect(checkLink(signLink(signed, SECRET), SECRET, 0)).toEqual({ ok: true, claims: signed });
  });

  it('refuses a changed claim, another secret, garbage and an expired link', () => {
    const token = signLink(claims(), SECRET);
    const [body, mac] = token.split('.') as [string, string];
    const fields = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown[];
    fields[3] = 'resolve';
    const changed = `${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${mac}`;
    expect(checkLink(changed, SECRET, 0)).toEqual({ ok: false, reason: 'tampered' });
    expect(checkLink(token, 'another-secret', 0)).toEqual({ ok: false, reason: 'tampered' });
    expect(checkLink('x.y', SECRET, 0)).toEqual({ ok: false, reason: 'malformed' });
    expect(checkLink(token, SECRET, 2_000_000_000_000)).toMatchObject({ ok: false, reason: 'expired' });
  });
});

describe('reply addresses', () => {
  it('carry the incident and recipient, signed, and survive a mail system that lower-cases them', () => {
    const address = replyAddress(
      { incident: 'incident-20261127-ab12cd34', recipient: 'alice' },
      SECRET,
      'reply.example.com',
    );
    expect(address).toMatch(/^reply\+[a-z2-7]+@reply\.example\.com$/);
    expect(checkReplyAddress(address, SECRET)).toEqual({
      incident: 'incident-20261127-ab12cd34',
      recipient: 'alice',
    });
    expect(checkReplyAddress(address.toUpperCase(), SECRET)).toEqual({
      incident: 'incident-20261127-ab12cd34',
      recipient: 'alice',
    });
  });

  it('are refused when changed, signed with another secret, or not Baton’s', () => {
    const address = replyAddress({ incident: 'inc-1', recipient: 'alice' }, SECRET, 'r.example.com');
    const local = address.slice(0, address.indexOf('@'));
    const last = local.at(-1) === 'a' ? 'b' : 'a';
    expect(checkReplyAddress(`${local.slice(0, -1)}${last}@r.example.com`, SECRET)).toBeUndefined();
    expect(checkReplyAddress(address, 'another-secret')).toBeUndefined();
    expect(checkReplyAddress('alice@example.com', SECRET)).toBeUndefined();
    expect(checkReplyAddress('reply+!!!@r.example.com', SECRET)).toBeUndefined();
  });
});

describe('used links', () => {
  it('are claimed once, given back when the step could not be tried, and pruned when old', async () => {
    const used = new UsedLinks(mkdtempSync(path.join(os.tmpdir(), 'baton-used-links-')));
    const nonce = newNonce();
    expect(await used.used(nonce)).toBe(false);
    const claims = await Promise.all([used.claim(nonce), used.claim(nonce), used.claim(nonce)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await used.used(nonce)).toBe(true);
    await used.release(nonce);
    expect(await used.claim(nonce)).toBe(true);
    expect(await used.prune(60_000)).toBe(0);
    expect(await used.prune(60_000, Date.now() + 120_000)).toBe(1);
    expect(await used.used(nonce)).toBe(false);
    await expect(used.claim('../escape')).rejects.toThrow(/nonce/);
  });
});
