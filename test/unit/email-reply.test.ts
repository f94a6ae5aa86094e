/**
 * Replies by email, without a server: the command a reply gives, the text above its quoted
 * history (plain and HTML-only), auto-replies, and what counts as the sender's domain
 * vouching for it (mailauth's results, faked, and a real DKIM signature with a test DNS).
 */
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { replyAddress } from '../../activities/email-tokens';
import {
  aligned,
  authenticateReply,
  judge,
  type AuthResults,
  type AuthenticationMode,
} from '../../api/email/authenticate';
import {
  autoReplyReason,
  parseCommand,
  readReply,
  requestIdOf,
  visibleText,
  type Reply,
} from '../../api/email/reply';
import { testConfig } from '../support/config';
import { domainKey, message, signed, TestDns } from '../support/dkim';

const SECRET = 'unit-test-email-secret';
const DOMAIN = 'reply.example.com';
const settings = { secret: SECRET, replyDomain: DOMAIN };
const INCIDENT = 'incident-test-1';
const aliceAddress = replyAddress({ incident: INCIDENT, recipient: 'alice' }, SECRET, DOMAIN);

async function read(raw: string, envelope?: { mailFrom: string; rcptTo: string[] }): Promise<Reply> {
  return readReply(await simpleParser(raw), raw, envelope, settings);
}

async function replyOf(raw: string): Promise<Extract<Reply, { kind: 'reply' }>> {
  const reply = await read(raw);
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

  it.each(['acknowledged, thanks', 'resolved-ish', 'Thanks, the DB is back\nresolve later', 'acking now'])(
    'takes %j as a note with the whole text',
    (text) => {
      expect(parseCommand(text)).toEqual({ kind: 'note', text });
    },
  );

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

  it('reads an HTML-only reply and leaves out its <blockquote> history', async () => {
    const html =
      '<html><body><div dir="ltr">resolve fixed by failover<br>the primary was stuck</div><br>' +
      '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Thu, Nov 26, 2026 at 10:00 AM ' +
      'Baton &lt;baton@example.com&gt; wrote:<br></div><blockquote class="gmail_quote">' +
      '<p>Payments API error rate above 5%</p><p>Reply <b>ack</b> to acknowledge</p></blockquote></div>' +
      '</body></html>';
    const reply = await replyOf(message({ from: 'alice@example.com', to: aliceAddress, html }).raw);
    expect(reply.command).toEqual({ kind: 'resolve', summary: 'fixed by failover\nthe primary was stuck' });
  });

  it('reads an HTML-only reply whose history is a bare <blockquote>', async () => {
    const html =
      '<p>ACK</p><blockquote><p>resolve this please</p><blockquote>older</blockquote></blockquote>';
    const reply = await replyOf(message({ from: 'alice@example.com', to: aliceAddress, html }).raw);
    expect(reply.command).toEqual({ kind: 'acknowledge' });
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
  const passing = (signingDomain: string, more: Partial<AuthResults['dkim'][number]> = {}) => ({
    signingDomain,
    result: 'pass',
    signedHeaders: ['from', 'to', 'subject'],
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

  it('accepts a passing DKIM signature of the From domain or its parent', () => {
    expect(judge('alice@example.com', results({ dkim: [passing('example.com')] }), smtp)).toEqual({
      ok: true,
      via: 'dkim=pass (d=example.com)',
    });
    expect(
      judge(
        'alice@mail.example.com',
        results({ headerFrom: ['alice@mail.example.com'], dkim: [passing('example.com')] }),
        smtp,
      ),
    ).toMatchObject({ ok: true });
  });

  it("refuses a passing signature of another domain (a mailing list's, a sender service's)", () => {
    const verdict = judge('alice@example.com', results({ dkim: [passing('sendgrid.net')] }), smtp);
    expect(verdict).toMatchObject({ ok: false });
    expect(!verdict.ok && verdict.reason).toContain('dkim=pass (d=sendgrid.net)');
  });

  it('refuses a signature that fails, leaves From unsigned or signs only part of the body', () => {
    for (const dkim of [
      passing('example.com', { result: 'fail' }),
      passing('example.com', { result: 'neutral' }),
      passing('example.com', { signedHeaders: ['to', 'subject'] }),
      passing('example.com', { partialBody: true }),
    ]) {
      expect(judge('alice@example.com', results({ dkim: [dkim] }), smtp), JSON.stringify(dkim)).toMatchObject(
        {
          ok: false,
        },
      );
    }
  });

  it('accepts DMARC pass, and SPF pass aligned with From only when SPF could be checked', () => {
    expect(judge('alice@example.com', results({ dmarc: { result: 'pass' } }), smtp)).toEqual({
      ok: true,
      via: 'dmarc=pass',
    });
    const spf = results({ spf: { domain: 'example.com', result: 'pass' } });
    expect(judge('alice@example.com', spf, smtp)).toMatchObject({ ok: true, via: 'spf=pass (example.com)' });
    // The provider route never saw the connection: an SPF result there means nothing.
    expect(judge('alice@example.com', spf, { spfChecked: false })).toMatchObject({ ok: false });
    const unaligned = results({ spf: { domain: 'bounces.example.org', result: 'pass' } });
    expect(judge('alice@example.com', unaligned, smtp)).toMatchObject({ ok: false });
  });

  it('refuses a From that mailauth reads differently (two From headers, a hidden address)', () => {
    const dkim = [passing('attacker.example')];
    for (const headerFrom of [
      ['mallory@attacker.example'],
      ['alice@example.com', 'mallory@attacker.example'],
    ]) {
      const verdict = judge(
        'alice@example.com',
        results({ headerFrom, dkim, dmarc: { result: 'pass' } }),
        smtp,
      );
      expect(verdict).toEqual({ ok: false, reason: 'the From header is ambiguous' });
    }
  });

  it('calls a DNS failure transient, so that the message is retried', () => {
    const verdict = judge(
      'alice@example.com',
      results({ dkim: [passing('example.com', { result: 'temperror' })] }),
      smtp,
    );
    expect(verdict).toMatchObject({ ok: false, transient: true });
    expect(judge('alice@example.com', results({}), smtp)).not.toHaveProperty('transient');
  });
});

describe('authenticating a reply with mailauth', () => {
  const config = testConfig();
  const key = domainKey('example.com');
  const dns = new TestDns().publishKey(key);
  const connection = { ip: '192.0.2.25', helo: 'mail.example.com', sender: 'alice@example.com' };

  async function check(raw: string, mode: AuthenticationMode = 'strict') {
    return authenticateReply({
      raw: Buffer.from(raw),
      reply: await replyOf(raw),
      config,
      mode,
      connection,
      resolver: dns.resolver,
    });
  }

  it('accepts a reply from the responder, signed by their domain', async () => {
    const raw = await signed(
      message({ from: 'Alice Ng <Alice@Example.com>', to: aliceAddress, text: 'ack' }).raw,
      key,
    );
    expect(await check(raw)).toMatchObject({
      ok: true,
      responder: { id: 'alice' },
      via: 'dkim=pass (d=example.com)',
    });
    expect(dns.asked).toContain('TXT baton-test._domainkey.example.com');
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
});
