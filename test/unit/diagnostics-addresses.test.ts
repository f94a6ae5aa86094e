/**
 * Which addresses a server from an alert may have (issue #21): public ones, and special ones
 * only where `allowedNetworks` lists them.
 */
import { describe, expect, it } from 'vitest';
import { refusedAddress, specialPurpose } from '../../activities/diagnostics/address-guard';
import { isNetworkRange } from '../../config/diagnostics';

const v4 = (address: string) => ({ address, family: 4 as const });
const v6 = (address: string) => ({ address, family: 6 as const });

describe('special-purpose addresses', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.53.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['169.254.169.254', 'a link-local address (where cloud metadata services answer)'],
    ['fe80::1', 'a link-local address'],
    ['10.0.0.5', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['fd00:ec2::254', 'a private (unique local) address'],
    ['100.100.100.200', 'a shared (carrier-grade NAT) address'],
    ['0.0.0.0', 'an unspecified address'],
    ['::', 'an unspecified address'],
    ['::7f00:1', 'an IPv4-compatible address'],
    ['64:ff9b::a9fe:a9fe', 'a NAT64 address'],
    ['224.0.0.1', 'a multicast address'],
  ])('names %s as %s', (address, what) => {
    expect(specialPurpose(address)).toBe(what);
  });

  it.each(['93.184.216.34', '172.32.0.1', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'finds nothing special in %s',
    (address) => {
      expect(specialPurpose(address)).toBeUndefined();
    },
  );
});

describe('refusedAddress', () => {
  it('refuses a special address unless a listed range holds it', () => {
    expect(refusedAddress([v4('10.1.2.3')], [])).toEqual({ address: '10.1.2.3', what: 'a private address' });
    expect(refusedAddress([v4('10.1.2.3')], ['10.0.0.0/8'])).toBeUndefined();
    expect(refusedAddress([v4('10.1.2.3')], ['10.1.2.4'])).toMatchObject({ address: '10.1.2.3' });
    expect(refusedAddress([v6('::ffff:10.1.2.3')], ['10.0.0.0/8'])).toBeUndefined();
    expect(refusedAddress([v6('fd00::5')], ['fd00::/8'])).toBeUndefined();
  });

  it('refuses the name when any one of its addresses is refused', () => {
    expect(refusedAddress([v4('93.184.216.34'), v4('169.254.169.254')], [])).toMatchObject({
      address: '169.254.169.254',
    });
    expect(refusedAddress([v4('93.184.216.34'), v6('2606:4700:4700::1111')], [])).toBeUndefined();
  });
});

describe('allowedNetworks entries', () => {
  it.each(['10.0.0.5', '10.0.0.0/8', '0.0.0.0/0', '::1', 'fd00::/8', '::/0'])('takes %s', (text) => {
    expect(isNetworkRange(text)).toBe(true);
  });
  it.each(['10.0.0.0/33', '::/129', 'prometheus.internal', '10.0.0.0/8/1', '10.0.0.0/', '10.0.0.0/x', ''])(
    'refuses %s',
    (text) => {
      expect(isNetworkRange(text)).toBe(false);
    },
  );
});
