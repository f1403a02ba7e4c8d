import { describe, expect, it } from 'vitest';
import { isPublicAddress, PrivateAddressError, publicOnlyLookup } from '../../src/media/address-policy.js';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '198.18.0.1', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a00:1', '64:ff9b:0:0:0:0:a00:1', '::127.0.0.1', '::7f00:1',
    '::ffff:0:7f00:1', '2002:7f00:1::', '2002:a9fe:a9fe::1', 'fe80::1%eth0', 'not-an-ip', '',
  ])('%s is not public', (a) => {
    expect(isPublicAddress(a)).toBe(false);
  });

  it.each(['8.8.8.8', '93.184.215.14', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])('%s is public', (a) => {
    expect(isPublicAddress(a)).toBe(true);
  });
});

describe('publicOnlyLookup', () => {
  const resolver = (addresses: { address: string; family: number }[]) =>
    ((_host: string, _opts: unknown, cb: (err: null, a: { address: string; family: number }[]) => void) => cb(null, addresses)) as never;

  it('passes public addresses through, in the form the caller asked for', async () => {
    const lookup = publicOnlyLookup(resolver([{ address: '8.8.8.8', family: 4 }, { address: '2606:4700:4700::1111', family: 6 }]));
    const one = await new Promise((resolve) => lookup('dns.example', {}, (err, address, family) => resolve({ err, address, family })));
    expect(one).toEqual({ err: null, address: '8.8.8.8', family: 4 });
    const all = await new Promise((resolve) => lookup('dns.example', { all: true }, (err, address) => resolve({ err, address })));
    expect(all).toEqual({ err: null, address: [{ address: '8.8.8.8', family: 4 }, { address: '2606:4700:4700::1111', family: 6 }] });
  });

  it('fails when any address of the host is not public', async () => {
    const lookup = publicOnlyLookup(resolver([{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.5', family: 4 }]));
    const err = await new Promise((resolve) => lookup('rebind.example', {}, (e) => resolve(e)));
    expect(err).toBeInstanceOf(PrivateAddressError);
    expect((err as Error).message).toBe('rebind.example resolves to 10.0.0.5, which is not a public address');
  });
});
