/**
 * Mail that a domain vouches for, without the internet: a test's own DKIM key, messages
 * signed with it (mailauth's dkimSign), and a DNS resolver for mailauth that answers the
 * key's TXT record (and any SPF or DMARC record a test publishes) and nothing else.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { dkimSign, type DNSResolver } from 'mailauth';

export interface DomainKey {
  domain: string;
  selector: string;
  privateKey: string;
  /** The TXT record of `<selector>._domainkey.<domain>`. */
  record: string;
}

export function domainKey(domain: string, selector = 'baton-test'): DomainKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    domain,
    selector,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=rsa; p=${spki}`,
  };
}

/** TXT records by name; the resolver answers those and says "no such name" to everything else. */
export class TestDns {
  readonly txt = new Map<string, string[]>();
  /** Names asked for, with their type. */
  readonly asked: string[] = [];

  publishKey(key: DomainKey): this {
    this.txt.set(`${key.selector}._domainkey.${key.domain}`, [key.record]);
    return this;
  }

  readonly resolver: DNSResolver = async (name, rrtype) => {
    const lower = name.toLowerCase().replace(/\.$/, '');
    this.asked.push(`${rrtype} ${lower}`);
    const records = rrtype === 'TXT' ? this.txt.get(lower) : undefined;
    if (!records) throw Object.assign(new Error(`queryTxt ENOTFOUND ${lower}`), { code: 'ENOTFOUND' });
    return records.map((r) => [r]);
  };
}

export interface MessageSpec {
  from: string;
  to: string;
  subject?: string;
  text?: string;
  html?: string;
  messageId?: string;
  /** More header lines, written as given (a Content-Type replaces the default one). */
  headers?: Record<string, string>;
}

/** An RFC 5322 message with CRLF line ends: a text or an HTML-only body. */
export function message(spec: MessageSpec): { raw: string; messageId: string } {
  const messageId = spec.messageId ?? `<${randomUUID()}@mail.example.com>`;
  const html = spec.html !== undefined;
  const lines = [
    `From: ${spec.from}`,
    `To: ${spec.to}`,
    `Subject: ${spec.subject ?? 'Re: [SEV2] Payments API error rate above 5%'}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    ...(Object.keys(spec.headers ?? {}).some((name) => /^content-type$/i.test(name))
      ? []
      : [`Content-Type: ${html ? 'text/html' : 'text/plain'}; charset=utf-8`]),
    'Content-Transfer-Encoding: 8bit',
    ...Object.entries(spec.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    '',
    ...(html ? (spec.html ?? '') : (spec.text ?? '')).split(/\r?\n/),
    '',
  ];
  return { raw: lines.join('\r\n'), messageId };
}

export interface SignOptions {
  /**
   * The headers to sign (h=). By default mailauth's list, of which a message has From, To,
   * Cc, Subject, Date, Message-ID and the MIME headers: what Gmail signs too.
   */
  headerList?: string[];
  /** An l= tag: only this many bytes of the (canonical) body are signed. */
  maxBodyLength?: number;
}

/** The message with a DKIM-Signature of the key's domain prepended. */
export async function signed(raw: string, key: DomainKey, options: SignOptions = {}): Promise<string> {
  const signature = {
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: key.privateKey,
    ...(options.maxBodyLength !== undefined ? { maxBodyLength: options.maxBodyLength } : {}),
  };
  // mailauth signs with the entries of signatureData only (the top-level fields, which its
  // type declarations ask for, sign nothing on their own).
  const result = await dkimSign(raw, {
    ...signature,
    signatureData: [signature],
    // mailauth 4 reads headerList as a colon-separated string (an array falls back to its
    // default list), whatever its type declarations say.
    ...(options.headerList ? { headerList: options.headerList.join(':') as unknown as string[] } : {}),
  });
  if (result.errors.length > 0 || !result.signatures.startsWith('DKIM-Signature:')) {
    throw new Error('mailauth did not sign the message', { cause: result.errors[0] });
  }
  return `${result.signatures}${raw}`;
}
