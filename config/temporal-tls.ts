/**
 * The files behind `temporal.tls`, read and checked once at start-up. Without this a missing
 * CA file surfaced as a raw ENOENT stack when the worker first connected, and in the API only
 * at the first request (its connection is lazy); a swapped certificate and key, or an
 * encrypted key, failed later still as an unreadable TLS handshake error.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './load';
import type { BatonConfig } from './schema';

export type TemporalTlsSettings = NonNullable<BatonConfig['temporal']['tls']>;

/** What the SDK's TLS options need, read from the files. */
export interface TemporalTlsMaterial {
  serverName?: string;
  ca?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

/** The environment variable that overrides each field (config/load.ts), for the messages. */
export const TLS_ENV: Record<'caFile' | 'certFile' | 'keyFile' | 'serverName', string> = {
  caFile: 'TEMPORAL_TLS_CA',
  certFile: 'TEMPORAL_TLS_CERT',
  keyFile: 'TEMPORAL_TLS_KEY',
  serverName: 'TEMPORAL_TLS_SERVER_NAME',
};

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1] ?? '', pem: m[0] }));
}

/** The path as written, and where it resolves to when it is relative (start-up's folder matters). */
function shown(file: string): string {
  return path.isAbsolute(file) ? file : `${file} (${path.resolve(file)})`;
}

type Field = 'caFile' | 'certFile' | 'keyFile';

/**
 * Reads and checks the TLS files; throws one ConfigError naming every problem, each with its
 * field and path. Returns undefined when TLS is not configured.
 */
export function loadTemporalTls(
  tls: TemporalTlsSettings | undefined,
  now: Date = new Date(),
): TemporalTlsMaterial | undefined {
  if (!tls) return undefined;
  const problems: string[] = [];
  const problem = (field: Field, file: string, what: string): void => {
    problems.push(`temporal.tls.${field}: ${shown(file)} ${what}`);
  };

  const read = (field: Field): { file: string; text: string; bytes: Buffer } | undefined => {
    const file = tls[field];
    if (file === undefined) return undefined;
    if (file.trim() === '') {
      problems.push(`temporal.tls.${field} is empty: name a file, or leave it out`);
      return undefined;
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'a folder, not a file' : e.message;
      problem(field, file, `cannot be read (${e.code ?? 'error'}: ${why})`);
      return undefined;
    }
    const text = bytes.toString('utf8');
    if (text.trim() === '') {
      problem(field, file, 'is empty');
      return undefined;
    }
    return { file, text, bytes };
  };

  /** The certificates in a file, each checked for its dates; undefined after a problem. */
  const certificates = (
    field: 'caFile' | 'certFile',
  ): { bytes: Buffer; certs: X509Certificate[] } | undefined => {
    const found = read(field);
    if (!found) return undefined;
    const blocks = pemBlocks(found.text);
    const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
    if (certs.length === 0) {
      const key = blocks.some((b) => b.label.endsWith('PRIVATE KEY'));
      problem(
        field,
        found.file,
        key
          ? 'holds a private key, not a certificate (are certFile and keyFile swapped?)'
          : 'is not a PEM certificate: expected a "-----BEGIN CERTIFICATE-----" block',
      );
      return undefined;
    }
    const parsed: X509Certificate[] = [];
    for (const block of certs) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block.pem);
      } catch (err) {
        problem(field, found.file, `holds a certificate that cannot be parsed (${(err as Error).message})`);
        return undefined;
      }
      if (Date.parse(cert.validTo) < now.getTime()) {
        problem(
          field,
          found.file,
          `holds a certificate for ${cert.subject.replace(/\n/g, ', ')} that expired on ${cert.validTo}`,
        );
        return undefined;
      }
      if (Date.parse(cert.validFrom) > now.getTime()) {
        problem(
          field,
          found.file,
          `holds a certificate that is valid only from ${cert.validFrom} (is the clock right?)`,
        );
        return undefined;
      }
      parsed.push(cert);
    }
    return { bytes: found.bytes, certs: parsed };
  };

  const privateKey = (): { bytes: Buffer; key: KeyObject } | undefined => {
    const found = read('keyFile');
    if (!found) return undefined;
    const blocks = pemBlocks(found.text);
    const keyBlock = blocks.find((b) => b.label.endsWith('PRIVATE KEY'));
    if (!keyBlock) {
      problem(
        'keyFile',
        found.file,
        blocks.some((b) => b.label === 'CERTIFICATE')
          ? 'holds a certificate, not a private key (are certFile and keyFile swapped?)'
          : 'is not a PEM private key: expected a "-----BEGIN PRIVATE KEY-----" block',
      );
      return undefined;
    }
    // Neither SDK connection takes a passphrase: an encrypted key could never be used.
    if (keyBlock.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(keyBlock.pem)) {
      problem(
        'keyFile',
        found.file,
        'is encrypted with a passphrase, which Baton cannot supply; store it unencrypted ' +
          '(openssl pkey -in <key> -out <new key>) and protect the file instead',
      );
      return undefined;
    }
    try {
      return { bytes: found.bytes, key: createPrivateKey(keyBlock.pem) };
    } catch (err) {
      problem('keyFile', found.file, `holds a private key that cannot be parsed (${(err as Error).message})`);
      return undefined;
    }
  };

  if (tls.certFile !== undefined && tls.keyFile === undefined) {
    problems.push(
      `temporal.tls.certFile is set (${tls.certFile}) but temporal.tls.keyFile is not: a client ` +
        `certificate needs its private key (${TLS_ENV.keyFile})`,
    );
  }
  if (tls.keyFile !== undefined && tls.certFile === undefined) {
    problems.push(
      `temporal.tls.keyFile is set (${tls.keyFile}) but temporal.tls.certFile is not: a private ` +
        `key needs the client certificate it belongs to (${TLS_ENV.certFile})`,
    );
  }
  if (tls.serverName !== undefined && tls.serverName.trim() === '') {
    problems.push(
      'temporal.tls.serverName is empty: name the host in the server certificate, or leave it out',
    );
  }

  const ca = tls.caFile !== undefined ? certificates('caFile') : undefined;
  const cert = tls.certFile !== undefined ? certificates('certFile') : undefined;
  const key = tls.keyFile !== undefined ? privateKey() : undefined;
  const leaf = cert?.certs[0];
  if (leaf && key && tls.certFile && tls.keyFile && !leaf.checkPrivateKey(key.key)) {
    problem(
      'keyFile',
      tls.keyFile,
      `is not the private key of the certificate in temporal.tls.certFile (${tls.certFile})`,
    );
  }

  if (problems.length > 0) {
    throw new ConfigError(
      `Baton cannot connect to Temporal: the TLS settings are not usable:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nThey come from temporal.tls in the configuration, or from ${Object.values(TLS_ENV).join(', ')}.`,
    );
  }
  return {
    ...(tls.serverName ? { serverName: tls.serverName } : {}),
    ...(ca ? { ca: ca.bytes } : {}),
    ...(cert && key ? { clientCertPair: { crt: cert.bytes, key: key.bytes } } : {}),
  };
}

/**
 * Start-up's check (worker, API, npm start, npm run start:cluster): stops before anything
 * runs when a TLS file named for Temporal is missing, unreadable or not what its field says.
 */
export function requireTemporalTls(config: BatonConfig): void {
  loadTemporalTls(config.temporal.tls);
}
