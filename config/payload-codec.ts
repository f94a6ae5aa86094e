/**
 * Encryption of what Baton puts in Temporal's history: every payload (workflow inputs and
 * results, signals, updates, queries, activity arguments, memos, summaries) is sealed with
 * AES-256-GCM before it leaves the process, so that the history holds no responder's email,
 * customer address or free text in clear. Search attributes are not payloads through a
 * codec: they stay readable (status, severity, service, team, assignee).
 *
 * It runs where the SDK runs codecs, in the client and on the worker's main thread, never in
 * the workflow sandbox, so node:crypto is fine here. It lives in config/ because both the API
 * and the worker build it from the secrets.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import protobuf from 'protobufjs/minimal.js';
import { ConfigError } from './load';

/** The encoding of a sealed payload; any other encoding is someone else's and passes through. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Which key sealed it, so that keys can rotate while old histories stay readable. */
export const KEY_ID_METADATA = 'encryption-key-id';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const KEYS_FORMAT =
  'id:base64key[,id:base64key…], newest first, each key 32 random bytes (openssl rand -base64 32)';

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** A sealed payload that cannot be opened: an unknown key, or bytes that were changed. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/**
 * The keys from their environment variable: `id:base64key` entries separated by commas,
 * newest first (`openssl rand -base64 32` makes a key). The first seals; every one opens. A
 * ConfigError names the variable (never a key) for an empty list, a malformed entry, a key
 * that is not 32 bytes, or an id given twice.
 */
export function parsePayloadKeys(value: string | undefined, variable: string): PayloadKey[] {
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(
      `temporal.encryption is on but ${variable} is not set: write it as ${KEYS_FORMAT}, or remove temporal.encryption`,
    );
  }
  const problems: string[] = [];
  const keys: PayloadKey[] = [];
  value.split(',').forEach((entry, index) => {
    const at = `${variable} entry ${index + 1}`;
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon).trim();
    const text = entry.slice(colon + 1).trim();
    if (colon < 0 || !KEY_ID.test(id)) {
      problems.push(`${at} does not start with a key id (letters, digits, ".", "_", "-") and ":"`);
      return;
    }
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
      problems.push(`${at} (key "${id}") is not base64`);
      return;
    }
    const key = Buffer.from(text, 'base64');
    if (key.length !== KEY_BYTES) {
      problems.push(
        `${at} (key "${id}") is ${key.length} bytes; AES-256 needs exactly ${KEY_BYTES} (${key.length < KEY_BYTES ? 'too short' : 'too long'})`,
      );
      return;
    }
    if (keys.some((k) => k.id === id)) {
      problems.push(`${at}: key id "${id}" is listed twice`);
      return;
    }
    keys.push({ id, key });
  });
  if (problems.length > 0) {
    throw new ConfigError(
      `Baton cannot start: the payload encryption keys in ${variable} are not usable:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nWrite ${variable} as ${KEYS_FORMAT}.`,
    );
  }
  return keys;
}

/** The Payload message in protobuf's wire format (temporal.api.common.v1.Payload). */
function serialize(payload: Payload): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const [name, value] of Object.entries(payload.metadata ?? {})) {
    if (!value) continue;
    writer.uint32((1 << 3) | 2).fork();
    writer.uint32((1 << 3) | 2).string(name);
    writer.uint32((2 << 3) | 2).bytes(value);
    writer.ldelim();
  }
  if (payload.data && payload.data.length > 0) writer.uint32((2 << 3) | 2).bytes(payload.data);
  return writer.finish();
}

function deserialize(bytes: Uint8Array): Payload {
  const reader = protobuf.Reader.create(bytes);
  const metadata: Record<string, Uint8Array> = {};
  let data: Uint8Array = new Uint8Array(0);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === ((1 << 3) | 2)) {
      const end = reader.uint32() + reader.pos;
      let name = '';
      let value: Uint8Array = new Uint8Array(0);
      while (reader.pos < end) {
        const entryTag = reader.uint32();
        if (entryTag === ((1 << 3) | 2)) name = reader.string();
        else if (entryTag === ((2 << 3) | 2)) value = reader.bytes();
        else reader.skipType(entryTag & 7);
      }
      metadata[name] = value;
    } else if (tag === ((2 << 3) | 2)) {
      data = reader.bytes();
    } else {
      reader.skipType(tag & 7);
    }
  }
  return { metadata, data };
}

/** Binds the sealed bytes to the key id in the metadata: a swapped id fails like a changed byte. */
function additionalData(keyId: string): Buffer {
  return Buffer.from(`baton-payload-v1:${keyId}`, 'utf8');
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * AES-256-GCM over each whole payload (its metadata and data), with a random nonce per
 * payload. The newest key (the first) seals; a payload names its key in the metadata and
 * opens with any listed key. Payloads without the encrypted encoding pass through on
 * decode, so histories written before encryption was turned on stay readable.
 */
export class PayloadEncryptionCodec implements PayloadCodec {
  private readonly current: PayloadKey;
  private readonly byId: Map<string, Buffer>;

  constructor(
    keys: readonly PayloadKey[],
    /** Named in the errors: where the keys come from. */
    private readonly source = 'the payload keys',
  ) {
    const [current] = keys;
    if (!current) throw new ConfigError(`${source}: no payload encryption key`);
    this.current = current;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id of the key that seals new payloads. */
  get currentKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(this.current.id));
      const sealed = Buffer.concat([
        nonce,
        cipher.update(serialize(payload)),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      return {
        metadata: {
          encoding: encoder.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: encoder.encode(this.current.id),
        },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding;
      if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const idBytes = payload.metadata?.[KEY_ID_METADATA];
      if (!idBytes) {
        throw new PayloadDecryptionError(
          `an encrypted payload names no key (no "${KEY_ID_METADATA}" in its metadata): it was not written by Baton's codec`,
        );
      }
      const keyId = decoder.decode(idBytes);
      const key = this.byId.get(keyId);
      if (!key) {
        throw new PayloadDecryptionError(
          `a payload was encrypted with key "${keyId}", which ${this.source} does not list ` +
            `(it lists ${[...this.byId.keys()].map((id) => `"${id}"`).join(', ')}): add that key back to read it`,
        );
      }
      const data = Buffer.from(payload.data ?? new Uint8Array(0));
      if (data.length < NONCE_BYTES + TAG_BYTES) {
        throw new PayloadDecryptionError(`a payload encrypted with key "${keyId}" is truncated`);
      }
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(additionalData(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([
          decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
      } catch {
        throw new PayloadDecryptionError(
          `a payload encrypted with key "${keyId}" does not authenticate: it was changed, or the key with that id is not the one that sealed it`,
        );
      }
      return deserialize(plain);
    });
  }
}
