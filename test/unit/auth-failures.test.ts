/**
 * The failed-authentication limit without a server: per address (IPv6 by /64) and per
 * credential, in fixed windows, refusing only once a limit is full (api/auth.ts).
 */
import { describe, expect, it } from 'vitest';
import { AuthFailures, credentialOf } from '../../api/auth';
import { addressGroup } from '../../api/client-address';

describe('the address a caller is counted under', () => {
  it('is an IPv4 address itself, and an IPv6 address its /64, however written', () => {
    expect(addressGroup('192.0.2.7')).toBe('192.0.2.7');
    expect(addressGroup('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressGroup('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(addressGroup('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
    expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressGroup('64:ff9b::192.0.2.7')).toBe('64:ff9b:0:0::/64');
    expect(addressGroup('2001:db8:1:3::1')).not.toBe(addressGroup('2001:db8:1:2::1'));
    // Not an address (a test's fake, a socket without one): kept as it is.
    expect(addressGroup('unknown')).toBe('unknown');
  });
});

describe('the credential a route checks', () => {
  it('names the incident API, the webhook, the email route and /metrics, and nothing else', () => {
    expect(credentialOf('/api/v1/incidents/:id/acknowledge')).toBe('api token');
    expect(credentialOf('/webhooks/alertmanager')).toBe('webhook');
    expect(credentialOf('/email/inbound')).toBe('email inbound');
    expect(credentialOf('/metrics')).toBe('metrics');
    expect(credentialOf('/codec/decode')).toBe('api token');
    expect(credentialOf('/slack/commands')).toBeUndefined();
    expect(credentialOf('/email/actions/:token')).toBeUndefined();
    expect(credentialOf(undefined)).toBeUndefined();
  });
});

describe('failed authentications', () => {
  it('are counted up to the limit of an address, then refused until its window ends', () => {
    let clock = 0;
    const failures = new AuthFailures({
      perAddress: 3,
      perCredential: 100,
      windowMs: 60_000,
      now: () => clock,
    });
    expect(failures.countFailure('192.0.2.1', 'api token')).toEqual({ refused: false, reached: [] });
    expect(failures.countFailure('192.0.2.1', 'webhook')).toEqual({ refused: false, reached: [] });
    expect(failures.countFailure('192.0.2.1', 'api token')).toEqual({
      refused: false,
      reached: [{ by: 'address', key: '192.0.2.1' }],
    });
    clock = 20_500;
    expect(failures.countFailure('192.0.2.1', 'metrics')).toEqual({
      refused: true,
      retryAfter: 40,
      by: 'address',
    });
    expect(failures.countFailure('192.0.2.2', 'api token')).toEqual({ refused: false, reached: [] });
    clock = 60_000;
    expect(failures.countFailure('192.0.2.1', 'api token')).toEqual({ refused: false, reached: [] });
  });

  it('share the limit of a /64 across its addresses', () => {
    const failures = new AuthFailures({ perAddress: 2, perCredential: 100, windowMs: 60_000, now: () => 0 });
    failures.countFailure('2001:db8:5:5::1', 'api token');
    failures.countFailure('2001:db8:5:5::2', 'api token');
    expect(failures.countFailure('2001:db8:5:5:abcd::3', 'api token')).toMatchObject({ refused: true });
    expect(failures.countFailure('2001:db8:5:6::1', 'api token')).toMatchObject({ refused: false });
  });

  it('are counted per credential from every address, and refused for that credential alone', () => {
    const failures = new AuthFailures({ perAddress: 2, perCredential: 3, windowMs: 60_000, now: () => 0 });
    expect(failures.countFailure('198.51.100.1', 'webhook').refused).toBe(false);
    expect(failures.countFailure('198.51.100.2', 'webhook').refused).toBe(false);
    expect(failures.countFailure('198.51.100.3', 'webhook')).toEqual({
      refused: false,
      reached: [{ by: 'credential', key: 'webhook' }],
    });
    expect(failures.countFailure('198.51.100.4', 'webhook')).toEqual({
      refused: true,
      retryAfter: 60,
      by: 'credential',
    });
    // The refusal was not counted against 198.51.100.4: this is its first failure of two.
    expect(failures.countFailure('198.51.100.4', 'api token')).toEqual({ refused: false, reached: [] });
  });
});
