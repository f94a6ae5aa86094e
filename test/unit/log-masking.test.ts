/** What the API's log keeps of a URL that carries a secret (api/log-masking.ts). */
import { describe, expect, it } from 'vitest';
import { maskSecrets } from '../../api/log-masking';

describe('masking secrets in logged URLs', () => {
  it("masks an email action link's token, and only the token", () => {
    expect(maskSecrets('/email/actions/WzEsImluYyJd.c2lnbmF0dXJl')).toBe('/email/actions/[masked]');
    expect(maskSecrets('/email/actions/abc.def?x=1')).toBe('/email/actions/[masked]?x=1');
    expect(maskSecrets('Route PUT://EMAIL/Actions/abc.def/more not found')).toBe(
      'Route PUT://EMAIL/Actions/[masked]/more not found',
    );
    expect(maskSecrets('https://baton.example.com/email/actions/abc.def#top')).toBe(
      'https://baton.example.com/email/actions/[masked]#top',
    );
  });

  it('masks the path of a Slack response_url, which is its secret', () => {
    expect(maskSecrets('POST https://hooks.slack.com/actions/T0001/1234/AbCdEf failed')).toBe(
      'POST https://hooks.slack.com/[masked] failed',
    );
  });

  it('masks query parameters named like secrets, and keeps the others', () => {
    expect(maskSecrets('/feed.ics?token=s3cret&team=payments')).toBe(
      '/feed.ics?token=[masked]&team=payments',
    );
    expect(
      maskSecrets('/x?access_token=a&api_key=b&Signature=c&sig=d&password=e&client_secret=f&limit=5'),
    ).toBe(
      '/x?access_token=[masked]&api_key=[masked]&Signature=[masked]&sig=[masked]&password=[masked]&client_secret=[masked]&limit=5',
    );
    // A name written in percent-encoding is judged decoded.
    expect(maskSecrets('/x?%74oken=abc')).toBe('/x?%74oken=[masked]');
    expect(maskSecrets('/api/v1/incidents?status=open&limit=5')).toBe(
      '/api/v1/incidents?status=open&limit=5',
    );
    expect(maskSecrets('/x?token=')).toBe('/x?token=');
  });

  it('masks URLs inside a line of JSON, where a quote or an escape ends the value', () => {
    const line = JSON.stringify({
      msg: 'could not read /hook?key=abc123',
      req: { url: '/email/actions/tok.sig?sig=zz' },
      err: { stack: 'Error: at "/x?token=qq"\n    at f (file.ts:1:1)' },
    });
    const masked = maskSecrets(line);
    for (const secret of ['abc123', 'tok.sig', 'zz', 'qq']) expect(masked).not.toContain(secret);
    expect(JSON.parse(masked)).toEqual({
      msg: 'could not read /hook?key=[masked]',
      req: { url: '/email/actions/[masked]?sig=[masked]' },
      err: { stack: 'Error: at "/x?token=[masked]"\n    at f (file.ts:1:1)' },
    });
  });
});
