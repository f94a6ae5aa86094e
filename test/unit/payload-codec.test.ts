/**
 * The payload encryption codec (config/payload-codec.ts) and where its keys come from
 * (config/secrets.ts): sealing, refusing what was changed or sealed with a key no longer
 * listed, rotating keys, and letting payloads written before encryption through.
 */
import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../config/load';
import {
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  parsePayloadKeys,
  PayloadDecryptionError,
  PayloadEncryptionCodec,
} from '../../config/payload-codec';
import { loadSecrets, requireSecrets } from '../../config/secrets';
import { temporalDataConverter } from '../../config/temporal';
import { testConfig } from '../support/config';

const keyText = (): string => randomBytes(32).toString('base64');
const ring = (text: string): PayloadEncryptionCodec =>
  new PayloadEncryptionCodec(parsePayloadKeys(text, 'BATON_PAYLOAD_KEYS'), 'BATON_PAYLOAD_KEYS');

const record = { title: 'Checkout down for ACME Corp', responder: 'alice@example.com' };
const plain = (): Payload => defaultPayloadConverter.toPayload(record);
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('utf8');

describe('the payload encryption codec', () => {
  it('seals a payload so that neither its data nor its metadata can be read, and opens it again', async () => {
    const codec = ring(`k1:${keyText()}`);
    const [sealed] = await codec.encode([plain()]);
    expect(text(sealed?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed?.metadata?.[KEY_ID_METADATA])).toBe('k1');
    expect(text(sealed?.data)).not.toContain('alice@example.com');
    expect(text(sealed?.data)).not.toContain('json/plain');
    const [opened] = await codec.decode([sealed as Payload]);
    expect(defaultPayloadConverter.fromPayload(opened as Payload)).toEqual(record);
    expect(text(opened?.metadata?.encoding)).toBe('json/plain');
  });

  it('seals the same payload differently each time (a fresh nonce)', async () => {
    const codec = ring(`k1:${keyText()}`);
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a?.data ?? []).equals(Buffer.from(b?.data ?? []))).toBe(false);
  });

  it('keeps empty data and every metadata entry through a round trip', async () => {
    const codec = ring(`k1:${keyText()}`);
    const odd: Payload = {
      metadata: { encoding: Buffer.from('binary/null'), other: Buffer.from([0, 1, 2]) },
      data: new Uint8Array(0),
    };
    const [opened] = await codec.decode(await codec.encode([odd]));
    expect(text(opened?.metadata?.encoding)).toBe('binary/null');
    expect([...(opened?.metadata?.other ?? [])]).toEqual([0, 1, 2]);
    expect(opened?.data?.length ?? 0).toBe(0);
  });

  it('refuses a sealed payload whose bytes were changed', async () => {
    const codec = ring(`k1:${keyText()}`);
    const [sealed] = await codec.encode([plain()]);
    const data = Buffer.from(sealed?.data ?? []);
    data[20] = (data[20] ?? 0) ^ 0x01;
    await expect(codec.decode([{ ...sealed, data }])).rejects.toThrow(
      /encrypted with key "k1" does not authenticate: it was changed/,
    );
  });

  it('refuses a payload whose key id was swapped for another listed key', async () => {
    const codec = ring(`k2:${keyText()},k1:${keyText()}`);
    const [sealed] = await codec.encode([plain()]);
    const swapped = { ...sealed, metadata: { ...sealed?.metadata, [KEY_ID_METADATA]: Buffer.from('k1') } };
    await expect(codec.decode([swapped])).rejects.toBeInstanceOf(PayloadDecryptionError);
  });

  it('refuses a payload sealed with a key that is no longer listed, naming the key and the variable', async () => {
    const [sealed] = await ring(`old:${keyText()}`).encode([plain()]);
    await expect(ring(`new:${keyText()}`).decode([sealed as Payload])).rejects.toThrow(
      'a payload was encrypted with key "old", which BATON_PAYLOAD_KEYS does not list (it lists "new"): add that key back to read it',
    );
  });

  it('after a rotation seals with the newest key and still opens what the old key sealed', async () => {
    const oldKey = keyText();
    const before = ring(`2024:${oldKey}`);
    const after = ring(`2025:${keyText()},2024:${oldKey}`);
    const [old] = await before.encode([plain()]);
    const [fresh] = await after.encode([plain()]);
    expect(text(fresh?.metadata?.[KEY_ID_METADATA])).toBe('2025');
    const opened = await after.decode([old as Payload, fresh as Payload]);
    expect(opened.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([record, record]);
    // The old ring does not know the new key: rotation only works forwards.
    await expect(before.decode([fresh as Payload])).rejects.toThrow(/key "2025"/);
  });

  it('lets payloads written before encryption through unchanged', async () => {
    const codec = ring(`k1:${keyText()}`);
    const written = plain();
    const [read] = await codec.decode([written]);
    expect(read).toBe(written);
    expect(defaultPayloadConverter.fromPayload(read as Payload)).toEqual(record);
  });
});

describe('the payload keys', () => {
  it('are read newest first, each id with its 32-byte key', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const keys = parsePayloadKeys(` k2:${a.toString('base64')} , k1:${b.toString('base64url')}`, 'KEYS');
    expect(keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(keys[0]?.key.equals(a)).toBe(true);
    expect(keys[1]?.key.equals(b)).toBe(true);
  });

  it('refuse a key shorter than 32 bytes, naming the variable and never the key', () => {
    const short = randomBytes(16).toString('base64');
    let error: unknown;
    try {
      parsePayloadKeys(`k1:${short}`, 'BATON_PAYLOAD_KEYS');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(
      'BATON_PAYLOAD_KEYS entry 1 (key "k1") is 16 bytes; AES-256 needs exactly 32 (too short)',
    );
    expect(message).not.toContain(short);
  });

  it('refuse an entry without an id, a key that is not base64, and an id given twice, all at once', () => {
    const key = keyText();
    expect(() => parsePayloadKeys(`${key},k1:not base64!,k2:${key},k2:${key}`, 'KEYS')).toThrow(
      /KEYS entry 1 does not start with a key id[\s\S]*KEYS entry 2 \(key "k1"\) is not base64[\s\S]*KEYS entry 4: key id "k2" is listed twice/,
    );
  });

  it('refuse an unset or empty variable', () => {
    expect(() => parsePayloadKeys(undefined, 'KEYS')).toThrow(
      'temporal.encryption is on but KEYS is not set',
    );
    expect(() => parsePayloadKeys('  ', 'KEYS')).toThrow('temporal.encryption is on but KEYS is not set');
  });
});

describe('encryption in the configuration and the secrets', () => {
  const encrypted = testConfig((c) => {
    c.temporal = { encryption: { keysEnv: 'BATON_PAYLOAD_KEYS' } };
  });

  it('is off by default: no keys, no codec', () => {
    const config = testConfig();
    expect(config.temporal.encryption).toBeUndefined();
    const secrets = loadSecrets(config, { BATON_PAYLOAD_KEYS: `k1:${keyText()}` });
    expect(secrets.payloadKeys).toBeUndefined();
    expect(temporalDataConverter(config, secrets).payloadCodecs).toEqual([]);
  });

  it('when on, reads the keys and gives every client and worker the codec', async () => {
    const secrets = loadSecrets(encrypted, { BATON_PAYLOAD_KEYS: `k1:${keyText()}` });
    expect(secrets.payloadKeys?.map((k) => k.id)).toEqual(['k1']);
    const [codec] = temporalDataConverter(encrypted, secrets).payloadCodecs ?? [];
    expect(codec).toBeInstanceOf(PayloadEncryptionCodec);
    const [sealed] = await (codec as PayloadEncryptionCodec).encode([plain()]);
    expect(text(sealed?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
  });

  it('when on, a short key stops the secrets from loading, naming the variable', () => {
    expect(() =>
      loadSecrets(encrypted, { BATON_PAYLOAD_KEYS: `k1:${randomBytes(31).toString('base64')}` }),
    ).toThrow(/BATON_PAYLOAD_KEYS entry 1 \(key "k1"\) is 31 bytes/);
  });

  it('when on, an unset variable is refused at start-up for the API and the worker alike', () => {
    for (const user of ['api', 'worker'] as const) {
      expect(() => requireSecrets(encrypted, [user], {})).toThrow(
        "BATON_PAYLOAD_KEYS: needed by the API and the worker, to encrypt and decrypt what they put in Temporal's history (temporal.encryption.keysEnv)",
      );
    }
    expect(() => loadSecrets(encrypted, {})).toThrow(
      'temporal.encryption is on but BATON_PAYLOAD_KEYS is not set',
    );
  });

  it('refuses secrets read without the keys for a configuration that encrypts', () => {
    const secrets = loadSecrets(testConfig(), {});
    expect(() => temporalDataConverter(encrypted, secrets)).toThrow(
      'temporal.encryption is on but no keys were read from BATON_PAYLOAD_KEYS',
    );
  });

  it('names a bad codec origin with its field', () => {
    expect(() =>
      testConfig((c) => {
        c.temporal = {
          encryption: { keysEnv: 'BATON_PAYLOAD_KEYS', codecOrigins: ['temporal.example.com'] },
        };
      }),
    ).toThrow(
      /temporal\.encryption\.codecOrigins\[0\]: write an origin like https:\/\/temporal\.example\.com/,
    );
  });
});
