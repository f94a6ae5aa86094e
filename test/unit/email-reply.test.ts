/**
 * Replies by email, without a server: the command a reply gives, the text above its quoted
 * history (plain and HTML-only), auto-replies, what counts as the sender's domain vouching
 * for it (mailauth's results, faked, and a real DKIM signature with a test DNS), replays of a
 * signed reply, how much of a message is read before it is authenticated, and how many
 * refused emails reach an incident's record.
 */
import { mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it, vi } from 'vitest';
import { replyAddress } from '../../channels/email/tokens';
import { handleInbound, type EmailIncidents, type InboundContext } from '../../channels/email/inbound/act';
import {
  aligned,
  authenticateReply,
  judge,
  type AuthResults,
  type AuthenticationMode,
  type SignedHeader,
} from '../../channels/email/inbound/authenticate';
import { RefusedMailLimits, WindowLimiter } from '../../channels/email/inbound/limits';
import { HttpError } from '../../api/errors';
import { UsedLinks } from '../../channels/email/links/used-links';
import * as replyModule from '../../channels/email/inbound/reply';
import {
  autoReplyReason,
  boundedText,
  commandOf,
  MAX_TEXT,
  parseCommand,
  readReply,
  requestIdOf,
  visibleText,
  type Reply,
} from '../../channels/email/inbound/reply';
import { testConfig } from '../support/config';
import { domainKey, message, signed, TestDns, type SignOptions } from '../support/dkim';

// The real module, with commandOf watched: act.ts must not read the body of a reply that fails.
vi.mock('../../channels/email/inbound/reply', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../channels/email/inbound/reply')>();
  return { ...original, commandOf: vi.fn(original.commandOf) };
});

const SECRET = 'unit-test-email-secret';
const DOMAIN = 'reply.example.com';
const settings = { secret: SECRET, replyDomain: DOMAIN };
const INCIDENT = 'incident-test-1';
const aliceAddress = replyAddress({ incident: INCIDENT, recipient: 'alice' }, SECRET, DOMAIN);

async function read(raw: string, envelope?: { mailFrom: string; rcptTo: string[] }): Promise<Reply> {
  return readReply(await simpleParser(raw), raw, envelope, settings);
}

async function replyOf(
  raw: string,
  envelope?: { mailFrom: string; rcptTo: string[] },
): Promise<Extract<Reply, { kind: 'reply' }>> {
  const reply = await read(raw, envelope);
  if (reply.kind !== 'reply') throw new Error(`expected a reply, got ${reply.kind}: ${reply.reason}`);
  return reply;
}

describe('the command on the first line', () => {
  it.each([
    ['ack', { kind: 'acknowledge' }],
    ['ACK.', { kind: 'acknowledge' }],
    ['  Acknowledge!  ', { kind: 'acknowledge' }],
    ['\n\nack\n', { kind: 'acknowledge' }],
    ['ack on it, looking at the database', { kind: 'acknowledge', note: 'on it, looking at the database' }],
    ['Escalate the restart did not help', { kind: 'escalate', reason: 'the restart did not help' }],
    [
      'escalate: the restart did not help\nand the replica is lagging too',
      { kind: 'escalate', reason: 'the restart did not help\nand the replica is lagging too' },
    ],
    ['RESOLVE fixed by failover', { kind: 'resolve', summary: 'fixed by failover' }],
    ['resolve\nfixed by failover', { kind: 'resolve', summary: 'fixed by failover' }],
    ['trained', { kind: 'confirmTraining' }],
    ['Trained!', { kind: 'confirmTraining' }],
    [
      '\ntrained: watched the replay\nwith Dave',
      { kind: 'confirmTraining', note: 'watched the replay\nwith Dave' },
    ],
  ])('reads %j as a command', (text, command) => {
    expect(parseCommand(text)).toEqual(command);
  });

  it.each([
    ['escalate', 'escalate needs a reason'],
    ['escalate:  ', 'escalate needs a reason'],
    ['resolve', 'resolve needs a summary'],
    ['   \n  ', 'the reply has no text'],
  ])('refuses %j with a reason to answer', (text, reason) => {
    const command = parseCommand(text);
    expect(command.kind).toBe('invalid');
    expect(command.kind === 'invalid' && command.reason).toContain(reason);
  });

  it('refuses a reason longer than the workflow takes', () => {
    const command = parseCommand(`escalate ${'x'.repeat(4001)}`);
    expect(command).toEqual({ kind: 'invalid', reason: 'the reason is longer than 4000 characters' });
  });

  it('refuses a note after trained longer than the workflow takes', () => {
    expect(parseCommand(`trained ${'x'.repeat(2001)}`)).toEqual({
      kind: 'invalid',
      reason: 'the note after trained is longer than 2000 characters',
    });
    expect(parseCommand(`trained ${'x'.repeat(2000)}`)).toEqual({
      kind: 'confirmTraining',
      note: 'x'.repeat(2000),
    });
  });

  it.each([
    'acknowledged, thanks',
    'resolved-ish',
    'Thanks, the DB is back\nresolve later',
    'acking now',
    'training is booked for Monday',
    'untrained staff on call',
  ])('takes %j as a note with the whole text', (text) => {
    expect(parseCommand(text)).toEqual({ kind: 'note', text });
  });

  it('cuts a note to the length the workflow keeps', () => {
    const command = parseCommand('y'.repeat(25_000));
    expect(command.kind).toBe('note');
    expect(command.kind === 'note' && command.text.length).toBe(20_000);
  });
});

describe('the text above the quoted history', () => {
  it('drops quoted lines, the "On … wrote:" line and the signature of a plain text reply', () => {
    const text = [
      'resolve fixed by failover',
      '',
      '--',
      'Alice Ng, payments on-call',
      '',
      'On Thu, Nov 26, 2026 at 10:00 AM Baton <baton@example.com> wrote:',
      '> Reply ack to acknowledge',
      '> Payments API error rate above 5%',
    ].join('\n');
    expect(visibleText({ text })).toBe('resolve fixed by failover');
  });

  it('drops a history whose "wrote:" is on a line of its own, and "Sent from my iPhone"', () => {
    const text = [
      'ack',
      '',
      'Sent from my iPhone',
      '',
      'On Thu, 26 Nov 2026 at 10:00, Baton <baton@example.com>',
      'wrote:',
      '> ack',
    ].join('\n');
    expect(visibleText({ text })).toBe('ack');
  });

  it("drops Outlook's From/Sent block and everything under it", () => {
    const text = [
      'escalate the database will not fail over',
      '',
      '________________________________',
      'From: Baton <baton@example.com>',
      'Sent: Thursday, November 26, 2026 10:00 AM',
      'To: Alice Ng <alice@example.com>',
      'Subject: [SEV2] Payments API error rate above 5%',
      '',
      'resolve when the alerts clear',
    ].join('\r\n');
    expect(visibleText({ text })).toBe('escalate the database will not fail over');
  });

  it.each([
    ['French', 'Le jeu. 26 nov. 2026 à 10:00, Baton <baton@example.com> a écrit :'],
    ['German', 'Am Do., 26. Nov. 2026 um 10:00 Uhr schrieb Baton <baton@example.com>:'],
    ['Spanish', 'El jue, 26 nov 2026 a las 10:00, Baton (<baton@example.com>) escribió:'],
    ['a separator', '-----Original Message-----'],
    ['a closing', 'Kind regards,'],
    ['German Outlook', 'Von: Baton <baton@example.com>\nGesendet: Donnerstag, 26. November 2026 10:00'],
  ])('cuts the history or signature under %s', (_what, start) => {
    const text = `escalate the replica is lagging\n\n${start}\n> resolve`;
    expect(visibleText({ text })).toBe('escalate the replica is lagging');
  });

  it('keeps a line that only looks like the start of a history', () => {
    const text = 'On it, the primary rewrote:\nFrom: the logs, the disk is full';
    expect(visibleText({ text })).toBe(text);
  });

  it('reads an HTML-only reply and leaves out its <blockquote> history', async () => {
    const html =
      '<html><body><div dir="ltr">resolve fixed by failover<br>the primary was stuck</div><br>' +
      '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Thu, Nov 26, 2026 at 10:00 AM ' +
      'Baton &lt;baton@example.com&gt; wrote:<br></div><blockquote class="gmail_quote">' +
      '<p>Payments API error rate above 5%</p><p>Reply <b>ack</b> to acknowledge</p></blockquote></div>' +
      '</body></html>';
    const mail = await simpleParser(message({ from: 'alice@example.com', to: aliceAddress, html }).raw);
    expect(commandOf(mail)).toEqual({ kind: 'resolve', summary: 'fixed by failover\nthe primary was stuck' });
  });

  it('reads an HTML-only reply whose history is a bare <blockquote>', async () => {
    const html =
      '<p>ACK</p><blockquote><p>resolve this please</p><blockquote>older</blockquote></blockquote>';
    const mail = await simpleParser(message({ from: 'alice@example.com', to: aliceAddress, html }).raw);
    expect(commandOf(mail)).toEqual({ kind: 'acknowledge' });
  });
});

describe('the reply address', () => {
  it('comes from the envelope first, then the To header', async () => {
    const bob = replyAddress({ incident: 'incident-other', recipient: 'bob' }, SECRET, DOMAIN);
    const { raw } = message({ from: 'alice@example.com', to: `Baton <${aliceAddress}>`, text: 'ack' });
    const fromEnvelope = await read(raw, { mailFrom: 'alice@example.com', rcptTo: [bob] });
    expect(fromEnvelope).toMatchObject({
      kind: 'reply',
      claims: { incident: 'incident-other', recipient: 'bob' },
      addressInHeaders: false,
    });
    const fromHeader = await read(raw);
    expect(fromHeader).toMatchObject({
      kind: 'reply',
      claims: { incident: INCIDENT, recipient: 'alice' },
      address: aliceAddress,
      addressInHeaders: true,
      from: ['alice@example.com'],
      fromHeaders: 1,
    });
  });

  it('is found in Cc', async () => {
    const { raw } = message({
      from: 'alice@example.com',
      to: 'payments-leads@example.com',
      text: 'ack',
      headers: { Cc: `"Baton" <${aliceAddress.toUpperCase()}>` },
    });
    expect(await read(raw)).toMatchObject({ kind: 'reply', claims: { incident: INCIDENT } });
  });

  it('must be one Baton signed, on the reply domain', async () => {
    const token = aliceAddress.slice(0, aliceAddress.indexOf('@'));
    const tampered = `${token.slice(0, -2)}${token.endsWith('aa') ? 'bb' : 'aa'}@${DOMAIN}`;
    for (const to of [tampered, `${token}@elsewhere.example.com`, 'baton@example.com']) {
      const { raw } = message({ from: 'alice@example.com', to, text: 'ack' });
      expect(await read(raw), to).toMatchObject({ kind: 'unaddressed' });
    }
  });

  it('gives one request id per Message-ID, so a redelivery is the same step', async () => {
    const first = await replyOf(
      message({ from: 'alice@example.com', to: aliceAddress, text: 'ack', messageId: '<m1@example.com>' })
        .raw,
    );
    const again = await replyOf(
      message({ from: 'alice@example.com', to: aliceAddress, text: 'ack', messageId: '<m1@example.com>' })
        .raw,
    );
    expect(first.requestId).toMatch(/^email-[0-9a-f]{24}$/);
    expect(again.requestId).toBe(first.requestId);
    expect(requestIdOf('<m2@example.com>', '')).not.toBe(first.requestId);
    expect(requestIdOf(undefined, 'raw one')).not.toBe(requestIdOf(undefined, 'raw two'));
  });
});

describe('auto-replies', () => {
  async function reasonFor(
    headers: Record<string, string>,
    subject?: string,
    mailFrom = 'alice@example.com',
    from = 'alice@example.com',
  ) {
    const { raw } = message({
      from,
      to: aliceAddress,
      text: 'ack',
      headers,
      ...(subject ? { subject } : {}),
    });
    return autoReplyReason(await simpleParser(raw), { mailFrom, rcptTo: [aliceAddress] });
  }

  it.each([
    [{ 'Auto-Submitted': 'auto-replied' }],
    [{ 'Auto-Submitted': 'auto-generated' }],
    [{ Precedence: 'bulk' }],
    [{ Precedence: 'junk' }],
    [{ Precedence: 'list' }],
    [{ Precedence: 'auto_reply' }],
    [{ 'X-Autoreply': 'yes' }],
    [{ 'X-Autorespond': 'yes' }],
    [{ 'List-Id': '<payments.lists.example.com>' }],
    [{ 'List-Unsubscribe': '<mailto:leave@lists.example.com>' }],
    [{ 'Content-Type': 'multipart/report; report-type=delivery-status; boundary=x' }],
  ])('recognizes %j', async (headers) => {
    expect(await reasonFor(headers)).toBeDefined();
  });

  it.each([
    'Out of Office: Re: [SEV2] Payments',
    'Automatic reply: [SEV2] Payments',
    'Auto: [SEV2] Payments',
    'AutoReply: [SEV2] Payments',
    'Undeliverable: [SEV2] Payments',
  ])('recognizes the subject %j', async (subject) => {
    expect(await reasonFor({}, subject)).toBeDefined();
  });

  it('recognizes a bounce by its empty envelope sender or its MAILER-DAEMON sender', async () => {
    expect(await reasonFor({}, undefined, '')).toContain('envelope sender is empty');
    expect(await reasonFor({}, undefined, 'x@example.com', 'MAILER-DAEMON@mx.example.com')).toContain(
      'mailer-daemon',
    );
  });

  it('takes a message from a person (Auto-Submitted: no, Precedence: normal) as a reply', async () => {
    expect(await reasonFor({ 'Auto-Submitted': 'no', Precedence: 'normal' })).toBeUndefined();
    // Outlook may set this on mail a person wrote; it asks not to be auto-answered, and
    // says nothing about whether it was written by a machine.
    expect(await reasonFor({ 'X-Auto-Response-Suppress': 'All' })).toBeUndefined();
    expect(await reasonFor({}, 'Re: Automatic reply handling is broken')).toBeUndefined();
  });

  it('is read as ignored, with the incident its address named', async () => {
    const { raw } = message({
      from: 'alice@example.com',
      to: aliceAddress,
      text: 'ack',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    expect(await read(raw)).toEqual({
      kind: 'ignored',
      reason: 'Auto-Submitted: auto-replied',
      incident: INCIDENT,
    });
  });
});

describe("the sender's domain vouching for the reply", () => {
  const expected = { from: 'alice@example.com', address: aliceAddress, recipients: [aliceAddress] };
  const headers = (values: Record<string, string>): SignedHeader[] =>
    Object.entries(values).map(([key, value]) => ({ key, value }));
  /** What Gmail signs: From, To, Subject, Date, Message-ID (and more). */
  const covered = headers({
    from: 'Alice Ng <alice@example.com>',
    to: `Baton <${aliceAddress}>`,
    subject: 'Re: [SEV2] Payments API error rate above 5%',
    'message-id': '<m1@example.com>',
  });
  const passing = (signingDomain: string, more: Partial<AuthResults['dkim'][number]> = {}) => ({
    signingDomain,
    result: 'pass',
    signedHeaders: covered,
    partialBody: false,
    ...more,
  });
  const results = (over: Partial<AuthResults>): AuthResults => ({
    headerFrom: ['alice@example.com'],
    dkim: [],
    spf: { domain: 'example.com', result: 'none' },
    dmarc: { result: 'none' },
    ...over,
  });
  const smtp = { spfChecked: true };

  it.each([
    ['example.com', 'example.com', true],
    ['mail.example.com', 'example.com', true],
    ['example.com', 'mail.example.com', true],
    ['Example.COM.', 'example.com', true],
    ['example.com', 'example.org', false],
    ['example.com', 'badexample.com', false],
    ['example.com', 'com', false],
    ['a.example.com', 'b.example.com', false],
  ])('aligns %s with %s: %s', (from, other, expected) => {
    expect(aligned(from, other)).toBe(expected);
  });

  it('accepts a passing DKIM signature of the From domain or its parent, with the request id it signs', () => {
    expect(judge(expected, results({ dkim: [passing('example.com')] }), smtp)).toEqual({
      ok: true,
      via: 'dkim=pass (d=example.com)',
      requestId: requestIdOf('<m1@example.com>', ''),
    });
    const sub = headers({ from: 'alice@mail.example.com', to: aliceAddress, 'message-id': '<m2@x>' });
    expect(
      judge(
        { ...expected, from: 'alice@mail.example.com' },
        results({
          headerFrom: ['alice@mail.example.com'],
          dkim: [passing('example.com', { signedHeaders: sub })],
        }),
        smtp,
      ),
    ).toMatchObject({ ok: true, requestId: requestIdOf('<m2@x>', '') });
  });

  it('accepts the reply address in a signed Cc', () => {
    const cc = headers({
      from: 'alice@example.com',
      to: 'payments-leads@example.com',
      cc: `"Baton" <${aliceAddress.toUpperCase()}>`,
      'message-id': '<m1@example.com>',
    });
    expect(
      judge(expected, results({ dkim: [passing('example.com', { signedHeaders: cc })] }), smtp),
    ).toMatchObject({
      ok: true,
    });
  });

  it("refuses a passing signature of another domain (a mailing list's, a sender service's)", () => {
    const verdict = judge(expected, results({ dkim: [passing('sendgrid.net')] }), smtp);
    expect(verdict).toMatchObject({ ok: false });
    expect(!verdict.ok && verdict.reason).toContain('dkim=pass (d=sendgrid.net)');
  });

  it.each([
    ['fails', { result: 'fail' }, 'did not vouch for the sender'],
    ['is neutral', { result: 'neutral' }, 'did not vouch for the sender'],
    [
      'leaves From unsigned',
      { signedHeaders: covered.filter((h) => h.key !== 'from') },
      'does not cover the From header',
    ],
    [
      'signs another From',
      {
        signedHeaders: [
          ...covered.filter((h) => h.key !== 'from'),
          { key: 'from', value: 'bob@example.com' },
        ],
      },
      'does not cover the From header',
    ],
    [
      'leaves To unsigned',
      { signedHeaders: covered.filter((h) => h.key !== 'to') },
      'does not cover the To or Cc header with the reply address',
    ],
    [
      "signs a To with another incident's reply address",
      {
        signedHeaders: [
          ...covered.filter((h) => h.key !== 'to'),
          {
            key: 'to',
            value: replyAddress({ incident: 'incident-other', recipient: 'alice' }, SECRET, DOMAIN),
          },
        ],
      },
      'does not cover the To or Cc header with the reply address',
    ],
    [
      // A display name is not an address.
      'names the reply address only in a display name',
      {
        signedHeaders: [
          ...covered.filter((h) => h.key !== 'to'),
          { key: 'to', value: `"${aliceAddress}" <someone@example.org>` },
        ],
      },
      'does not cover the To or Cc header with the reply address',
    ],
    [
      'leaves Message-ID unsigned',
      { signedHeaders: covered.filter((h) => h.key !== 'message-id') },
      'does not cover the Message-ID',
    ],
    ['signs only part of the body (l=)', { partialBody: true }, 'does not cover all of the body'],
  ])('refuses a signature that %s', (_what, over, reason) => {
    const verdict = judge(expected, results({ dkim: [passing('example.com', over)] }), smtp);
    expect(verdict).toMatchObject({ ok: false });
    expect(!verdict.ok && verdict.reason).toContain(reason);
  });

  it('takes the first aligned signature that binds the reply, whatever comes before it', () => {
    const unbound = passing('example.com', { signedHeaders: covered.filter((h) => h.key !== 'to') });
    expect(judge(expected, results({ dkim: [unbound, passing('example.com')] }), smtp)).toMatchObject({
      ok: true,
    });
  });

  it('does not take DMARC pass alone: it passes on a signature whatever it covers, or on SPF', () => {
    // DMARC passes on this signature, which does not sign the To a replay would change.
    const unbound = passing('example.com', { signedHeaders: covered.filter((h) => h.key !== 'to') });
    const dmarc = { result: 'pass' };
    expect(judge(expected, results({ dkim: [unbound], dmarc }), smtp)).toMatchObject({ ok: false });
    // On the provider route nothing checked SPF here: DMARC's pass (from the provider's SPF) says nothing.
    const viaSpf = results({ spf: { domain: 'example.com', result: 'pass' }, dmarc });
    expect(
      judge({ from: expected.from, address: aliceAddress }, viaSpf, { spfChecked: false }),
    ).toMatchObject({
      ok: false,
    });
    expect(judge(expected, results({ dmarc }), smtp)).toMatchObject({ ok: false });
  });

  it('accepts SPF pass aligned with From only on the listener, for mail delivered to the reply address', () => {
    const spf = results({ spf: { domain: 'example.com', result: 'pass' } });
    // No request id of its own: the caller's, from the Message-ID, stands.
    expect(judge(expected, spf, smtp)).toEqual({ ok: true, via: 'spf=pass (example.com)' });
    // The provider route never saw the connection: an SPF result there means nothing.
    expect(judge(expected, spf, { spfChecked: false })).toMatchObject({ ok: false });
    const unaligned = results({ spf: { domain: 'bounces.example.org', result: 'pass' } });
    expect(judge(expected, unaligned, smtp)).toMatchObject({ ok: false });
    const elsewhere = {
      ...expected,
      recipients: [replyAddress({ incident: 'x', recipient: 'alice' }, SECRET, DOMAIN)],
    };
    const verdict = judge(elsewhere, spf, smtp);
    expect(verdict).toMatchObject({ ok: false });
    expect(!verdict.ok && verdict.reason).toContain('not delivered to the reply address');
  });

  it('refuses a From that mailauth reads differently (two From headers, a hidden address)', () => {
    const dkim = [passing('attacker.example')];
    for (const headerFrom of [
      ['mallory@attacker.example'],
      ['alice@example.com', 'mallory@attacker.example'],
    ]) {
      const verdict = judge(expected, results({ headerFrom, dkim, dmarc: { result: 'pass' } }), smtp);
      expect(verdict).toEqual({ ok: false, reason: 'the From header is ambiguous' });
    }
  });

  it('calls a DNS failure transient, so that the message is retried', () => {
    const verdict = judge(
      expected,
      results({ dkim: [passing('example.com', { result: 'temperror' })] }),
      smtp,
    );
    expect(verdict).toMatchObject({ ok: false, transient: true });
    expect(judge(expected, results({}), smtp)).not.toHaveProperty('transient');
  });
});

describe('authenticating a reply with mailauth', () => {
  const config = testConfig();
  const key = domainKey('example.com');
  const dns = new TestDns().publishKey(key);
  const connection = { ip: '192.0.2.25', helo: 'mail.example.com', sender: 'alice@example.com' };
  const bAddress = replyAddress({ incident: 'incident-test-2', recipient: 'alice' }, SECRET, DOMAIN);

  async function check(
    raw: string,
    mode: AuthenticationMode = 'strict',
    envelope?: { mailFrom: string; rcptTo: string[] },
  ) {
    return authenticateReply({
      raw: Buffer.from(raw),
      reply: await replyOf(raw, envelope),
      config,
      mode,
      connection: { ...connection, recipients: envelope?.rcptTo ?? [aliceAddress] },
      resolver: dns.resolver,
    });
  }

  /** Alice's reply to incident-test-1, as her domain signs it. */
  async function aliceSigned(text = 'resolve rolled back the deploy', options?: SignOptions) {
    const built = message({ from: 'Alice Ng <alice@example.com>', to: aliceAddress, text });
    return { raw: await signed(built.raw, key, options), messageId: built.messageId };
  }

  it('accepts a reply from the responder, signed by their domain, with the request id of its Message-ID', async () => {
    const { raw, messageId } = await aliceSigned('ack');
    expect(await check(raw)).toEqual({
      ok: true,
      responder: expect.objectContaining({ id: 'alice' }) as unknown,
      via: 'dkim=pass (d=example.com)',
      requestId: requestIdOf(messageId, ''),
    });
    expect(dns.asked).toContain('TXT baton-test._domainkey.example.com');
  });

  it('gives a refolded copy of the signed Message-ID the same request id', async () => {
    const { raw, messageId } = await aliceSigned('ack');
    // Relaxed canonicalization ignores the spaces around a value: the signature still passes.
    const refolded = raw.replace(`Message-ID: ${messageId}`, `Message-ID:\r\n    ${messageId}  `);
    expect(refolded).not.toBe(raw);
    expect(await check(refolded)).toMatchObject({ ok: true, requestId: requestIdOf(messageId, '') });
  });

  it('refuses a signed reply whose body was changed after signing', async () => {
    const raw = await signed(message({ from: 'alice@example.com', to: aliceAddress, text: 'ack' }).raw, key);
    const verdict = await check(raw.replace('\r\n\r\nack', '\r\n\r\nresolve nothing to see'));
    expect(verdict).toMatchObject({ ok: false });
    expect(!verdict.ok && verdict.reason).toContain('example.com did not vouch for the sender');
  });

  it('refuses an unsigned reply in strict mode and takes it with token-and-sender', async () => {
    const { raw } = message({ from: 'alice@example.com', to: aliceAddress, text: 'ack' });
    expect(await check(raw)).toMatchObject({ ok: false });
    expect(await check(raw, 'token-and-sender')).toMatchObject({ ok: true, via: 'token and sender' });
  });

  it('refuses a reply from someone other than the recipient of the address, signed or not', async () => {
    const raw = await signed(message({ from: 'bob@example.com', to: aliceAddress, text: 'ack' }).raw, key);
    for (const mode of ['strict', 'token-and-sender'] as const) {
      expect(await check(raw, mode)).toEqual({
        ok: false,
        reason: 'sent from bob@example.com, which is not the address of alice',
      });
    }
  });

  it('refuses a reply address issued to someone who is not a responder', async () => {
    const to = replyAddress({ incident: INCIDENT, recipient: 'payments-leads@example.com' }, SECRET, DOMAIN);
    const raw = await signed(message({ from: 'payments-leads@example.com', to, text: 'ack' }).raw, key);
    expect(await check(raw, 'token-and-sender')).toEqual({
      ok: false,
      reason: 'the reply address was issued to payments-leads@example.com, who is not a responder',
    });
  });

  describe('a signed reply replayed', () => {
    it("to another incident, with that incident's address on top of the signed To", async () => {
      const { raw } = await aliceSigned();
      const replayed = `To: ${bAddress}\r\n${raw}`;
      const envelope = { mailFrom: 'x@attacker.example', rcptTo: [bAddress] };
      expect(await replyOf(replayed, envelope)).toMatchObject({ claims: { incident: 'incident-test-2' } });
      expect(await check(replayed, 'strict', envelope)).toEqual({
        ok: false,
        reason: 'the message has more than one To header',
      });
      // Through the provider route, too (no envelope: the topmost To is the one read).
      expect(await check(replayed, 'strict')).toMatchObject({ ok: false });
    });

    it('to another incident, with that address in a Cc the signature did not cover', async () => {
      const { raw } = await aliceSigned();
      const replayed = `Cc: ${bAddress}\r\n${raw}`;
      const envelope = { mailFrom: 'x@attacker.example', rcptTo: [bAddress] };
      const verdict = await check(replayed, 'strict', envelope);
      expect(verdict).toMatchObject({ ok: false });
      expect(!verdict.ok && verdict.reason).toContain(
        'does not cover the To or Cc header with the reply address',
      );
    });

    it('to another incident, as it is: the signed To names the first', async () => {
      const { raw } = await aliceSigned();
      const verdict = await check(raw, 'strict', { mailFrom: 'x@attacker.example', rcptTo: [bAddress] });
      expect(verdict).toEqual({
        ok: false,
        reason: 'the reply address is not in the To or Cc of the message',
      });
    });

    it('to the same incident under a new Message-ID', async () => {
      const { raw } = await aliceSigned('ack');
      for (const mode of ['strict', 'token-and-sender'] as const) {
        expect(await check(`Message-ID: <fresh-1@attacker.example>\r\n${raw}`, mode)).toEqual({
          ok: false,
          reason: 'the message has more than one Message-ID header',
        });
      }
    });

    it('with any other header RFC 5322 allows once repeated', async () => {
      const { raw } = await aliceSigned('ack');
      for (const header of [
        'From: Alice Ng <alice@example.com>',
        'Subject: ack',
        `Date: ${new Date().toUTCString()}`,
      ]) {
        const verdict = await check(`${header}\r\n${raw}`);
        expect(verdict, header).toMatchObject({ ok: false });
        expect(!verdict.ok && verdict.reason, header).toMatch(
          /^the message has (2 From addresses|more than one)/,
        );
      }
    });
  });

  it('refuses a signature that does not cover To, or Message-ID, or signs part of the body (l=)', async () => {
    const everything = ['From', 'To', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'Content-Type'];
    const noTo = await aliceSigned('ack', { headerList: everything.filter((h) => h !== 'To') });
    const noId = await aliceSigned('ack', { headerList: everything.filter((h) => h !== 'Message-ID') });
    const body = 'ack\r\n\r\n';
    const partial = await aliceSigned('ack', { maxBodyLength: body.length });
    for (const [{ raw }, reason] of [
      [noTo, 'the To or Cc header with the reply address'],
      [noId, 'the Message-ID'],
      [partial, 'all of the body'],
    ] as const) {
      const verdict = await check(raw);
      expect(verdict, reason).toMatchObject({ ok: false });
      expect(!verdict.ok && verdict.reason, reason).toContain(`does not cover ${reason}`);
    }
    // Which is what lets a body be added below what l= signed.
    const appended = partial.raw.replace(/\r\n$/, '\r\nresolve nothing to see\r\n');
    expect(await check(appended)).toMatchObject({ ok: false });
    expect(await check((await aliceSigned('ack', { headerList: everything })).raw)).toMatchObject({
      ok: true,
    });
  });
});

describe('a long or hostile text', () => {
  const MiB = 1024 * 1024;
  const fill = (unit: string, length = MiB): string =>
    unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
  // Shapes on which email-reply-parser (which the text used to go through, whole) takes from
  // seconds to minutes, and the ones each pattern in reply.ts might backtrack on.
  const hostile: Record<string, string> = {
    '"On " repeated': fill('On '),
    'one long line of "on" and "at"': fill('a on b at c '),
    'blank lines': `${fill('\n')}x`,
    'spaces and line ends': fill(' \n'),
    '"From: <"': fill('From: <'),
    digits: fill('2024'),
    tildes: `${fill('~')}x`,
    'quote markers on one line': `${fill('>')}x`,
    'dashes on one line': `${fill('-')}x`,
    'attribution starts without an end': fill('On a b c d e f\n'),
    'Outlook blocks without an end': fill('From: x\nfoo\n'),
    'a command, spaces and a line separator': `ack${' '.repeat(MAX_TEXT - 10)}\u2028x`,
    'a signature start, spaces and a line separator': `Sent from ${' '.repeat(MAX_TEXT - 20)}\u2028x`,
  };

  it('cuts the text read for a command to MAX_TEXT before anything reads it', () => {
    // Room for the longest text a command carries (a note of 20,000 characters) and more.
    expect(MAX_TEXT).toBeGreaterThanOrEqual(3 * 20_000);
    for (const [name, text] of Object.entries(hostile)) {
      expect(boundedText(text).length, name).toBeLessThanOrEqual(MAX_TEXT);
    }
    expect(boundedText(`${'x'.repeat(MAX_TEXT - 1)}\u{1F600}`)).toBe('x'.repeat(MAX_TEXT - 1));
    expect(boundedText('a\r\nb\rc\u00a0d')).toBe('a\nb\nc d');
    expect(boundedText(undefined)).toBe('');
  });

  it('reads 1 MiB of each (a sanity run: each takes milliseconds)', () => {
    for (const [name, text] of Object.entries(hostile)) {
      const command = commandOf({ text });
      expect(command.kind, name).toMatch(/^(acknowledge|note|invalid)$/);
      if (command.kind === 'note') expect(command.text.length, name).toBeLessThanOrEqual(20_000);
    }
    expect(commandOf({ text: hostile['a command, spaces and a line separator'] })).toMatchObject({
      kind: 'acknowledge',
    });
  });

  it('keeps a note of 20,000 characters whole, with a long history below it', () => {
    const note = `${'n'.repeat(19_999)}.`;
    const text = `${note}\n\nOn Thu, Nov 26, 2026 at 10:00 AM Baton <baton@example.com> wrote:\n${fill('> old\n')}`;
    expect(commandOf({ text })).toEqual({ kind: 'note', text: note });
  });
});

describe('what is read before a reply is authenticated', () => {
  const key = domainKey('example.com');
  const dns = new TestDns().publishKey(key);
  const silent = { info: () => {}, warn: () => {}, error: () => {} };

  function context(mode: AuthenticationMode) {
    const incidents = {
      step: vi.fn(async () => undefined),
      note: vi.fn(async () => undefined),
      recordRefusedEmail: vi.fn(async () => undefined),
    };
    const ctx: InboundContext = {
      config: testConfig(),
      incidents: incidents as unknown as EmailIncidents,
      secret: SECRET,
      replyDomain: DOMAIN,
      mode,
      log: silent,
      resolver: dns.resolver,
      refusals: new RefusedMailLimits(),
      usedReplies: new UsedLinks(mkdtempSync(path.join(os.tmpdir(), 'baton-replies-')), 'replies'),
    };
    return { ctx, incidents };
  }

  it('reads the body of a reply that passed, never of one that failed', async () => {
    const commandOfSpy = vi.mocked(replyModule.commandOf);
    commandOfSpy.mockClear();
    const forged = message({ from: 'alice@example.com', to: aliceAddress, text: 'On '.repeat(100_000) });
    const strict = context('strict');
    expect(await handleInbound(strict.ctx, { raw: Buffer.from(forged.raw) })).toMatchObject({
      outcome: 'rejected',
    });
    expect(commandOfSpy).not.toHaveBeenCalled();

    const ack = message({ from: 'alice@example.com', to: aliceAddress, text: 'ack' });
    const lenient = context('token-and-sender');
    expect(await handleInbound(lenient.ctx, { raw: Buffer.from(ack.raw) })).toMatchObject({
      outcome: 'acted',
    });
    expect(commandOfSpy).toHaveBeenCalledTimes(1);
    expect(lenient.incidents.step).toHaveBeenCalledTimes(1);
  });
});

describe('refused emails on the record', () => {
  const silent = { info: () => {}, warn: () => {}, error: () => {} };
  const bAddress = replyAddress({ incident: 'incident-test-2', recipient: 'alice' }, SECRET, DOMAIN);

  function context(now: () => number) {
    const recorded: { incident: string; from: string }[] = [];
    let failWith: Error | undefined;
    const incidents = {
      step: vi.fn(async () => undefined),
      note: vi.fn(async () => undefined),
      recordRefusedEmail: vi.fn(async (incident: string, refusal: { from: string }) => {
        if (failWith) throw failWith;
        recorded.push({ incident, from: refusal.from });
      }),
    };
    const ctx: InboundContext = {
      config: testConfig(),
      incidents: incidents as unknown as EmailIncidents,
      secret: SECRET,
      replyDomain: DOMAIN,
      mode: 'strict',
      log: silent,
      resolver: new TestDns().resolver,
      refusals: new RefusedMailLimits({ now }),
      usedReplies: new UsedLinks(mkdtempSync(path.join(os.tmpdir(), 'baton-replies-')), 'replies'),
    };
    return {
      ctx,
      recorded,
      fail: (err: Error | undefined) => {
        failWith = err;
      },
    };
  }

  const forged = (from: string, to = aliceAddress) =>
    Buffer.from(message({ from, to, text: 'resolve nothing to see' }).raw);
  /** A forged reply as the provider route hands it over, posted from `address`. */
  const posted = (from: string, address: string, to = aliceAddress) => ({
    raw: forged(from, to),
    postedFrom: address,
  });

  it('records one a minute per incident and delivering address, whatever From the mail claims', async () => {
    let clock = 1_000_000;
    const { ctx, recorded } = context(() => clock);
    for (const from of [
      'alice@example.com',
      'mallory@attacker.example',
      'a1@forged.example',
      'a2@forged.example',
    ]) {
      expect(await handleInbound(ctx, posted(from, '192.0.2.1'))).toMatchObject({
        outcome: 'rejected',
        incident: INCIDENT,
      });
    }
    // An IPv6 sender is one address for its whole /64.
    await handleInbound(ctx, posted('b1@forged.example', '2001:db8:1:2::1'));
    await handleInbound(ctx, posted('b2@forged.example', '2001:db8:1:2:ffff::9'));
    await handleInbound(ctx, posted('alice@example.com', '192.0.2.1', bAddress));
    expect(recorded).toEqual([
      { incident: INCIDENT, from: 'alice@example.com' },
      { incident: INCIDENT, from: 'b1@forged.example' },
      { incident: 'incident-test-2', from: 'alice@example.com' },
    ]);
    clock += 60_000;
    await handleInbound(ctx, posted('a3@forged.example', '192.0.2.1'));
    expect(recorded).toHaveLength(4);
  });

  it('records at most ten an hour for an incident, however many addresses send', async () => {
    let clock = 5_000_000;
    const { ctx, recorded } = context(() => clock);
    for (let i = 1; i <= 30; i += 1) {
      expect(await handleInbound(ctx, posted(`forger-${i}@example.net`, `198.51.100.${i}`))).toMatchObject({
        outcome: 'rejected',
      });
    }
    expect(recorded.filter((r) => r.incident === INCIDENT)).toHaveLength(10);
    // Another incident has its own ten.
    await handleInbound(ctx, posted('forger@example.net', '198.51.100.31', bAddress));
    expect(recorded.filter((r) => r.incident === 'incident-test-2')).toHaveLength(1);
    clock += 59 * 60_000;
    await handleInbound(ctx, posted('late@example.net', '198.51.100.32'));
    expect(recorded.filter((r) => r.incident === INCIDENT)).toHaveLength(10);
    clock += 60_000;
    await handleInbound(ctx, posted('later@example.net', '198.51.100.33'));
    expect(recorded.filter((r) => r.incident === INCIDENT)).toHaveLength(11);
  });

  it('records a refusal that could not be recorded (Temporal away) when the sender retries', async () => {
    const { ctx, recorded, fail } = context(() => 1_000_000);
    fail(new HttpError(503, 'Temporal is unavailable; try again shortly', 'TemporalUnavailable'));
    expect(await handleInbound(ctx, posted('alice@example.com', '192.0.2.1'))).toMatchObject({
      outcome: 'deferred',
    });
    fail(undefined);
    expect(await handleInbound(ctx, posted('alice@example.com', '192.0.2.1'))).toMatchObject({
      outcome: 'rejected',
    });
    expect(recorded).toHaveLength(1);
  });
});

describe('a window limiter', () => {
  it('counts per key in fixed windows, gives back, and forgets the oldest past maxKeys', () => {
    let clock = 0;
    const limiter = new WindowLimiter({ limit: 2, windowMs: 1_000, maxKeys: 3, now: () => clock });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('b')]).toEqual([
      true,
      true,
      false,
      true,
    ]);
    limiter.giveBack('a');
    expect(limiter.take('a')).toBe(true);
    expect(limiter.take('a')).toBe(false);
    clock = 1_000;
    expect(limiter.take('a')).toBe(true);
    // 'b' went with its window; at three keys, 'a' (the oldest window) is forgotten for 'e'.
    expect([limiter.take('c'), limiter.take('d'), limiter.take('e')]).toEqual([true, true, true]);
    expect(limiter.size).toBeLessThanOrEqual(3);
  });
});

describe('replies that acted, kept beside the used links', () => {
  it('keeps a reply id in its own folder, which pruning the links never empties', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-used-'));
    const links = new UsedLinks(dataDir);
    const replies = new UsedLinks(dataDir, 'replies');
    const id = replyModule.requestIdOf('<reply-1@mail.example.com>', '');
    expect(await replies.claim(id)).toBe(true);
    expect(await links.claim('n0nce-0001')).toBe(true);
    // Both a year old: past any link's lifetime.
    const yearAgo = new Date(Date.now() - 365 * 86_400_000);
    for (const [folder, name] of [
      ['used', 'n0nce-0001'],
      ['used-replies', id],
    ] as const) {
      utimesSync(path.join(dataDir, 'email-links', folder, name), yearAgo, yearAgo);
    }
    expect(await links.prune(86_400_000)).toBe(1);
    expect(readdirSync(path.join(dataDir, 'email-links', 'used'))).toEqual([]);
    expect(await replies.used(id)).toBe(true);
    expect(await replies.claim(id)).toBe(false);
    expect(await links.used(id)).toBe(false);
  });
});
