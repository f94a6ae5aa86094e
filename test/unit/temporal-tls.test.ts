/**
 * Temporal's TLS settings: the environment overrides (config/load.ts), the start-up checks of
 * the files (config/temporal-tls.ts) and the connection options built from them. Certificates
 * are made with openssl once for the file; nothing connects anywhere.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ConfigError, loadConfig } from '../../config/load';
import { explainTemporalConnectionFailure, temporalConnectionOptions } from '../../config/temporal';
import { loadTemporalTls, requireTemporalTls, type TemporalTlsSettings } from '../../config/temporal-tls';
import { testConfig } from '../support/config';

const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-tls-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string): string => path.join(dir, name);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

beforeAll(() => {
  openssl(
    ['req', '-x509', '-new', ...NEW_KEY, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '30'].concat([
      '-subj',
      '/CN=Test CA',
    ]),
  );
  for (const name of ['client', 'other']) {
    openssl(
      ['req', '-x509', '-new', '-CA', f('ca.pem'), '-CAkey', f('ca.key'), ...NEW_KEY].concat([
        '-keyout',
        f(`${name}.key`),
        '-out',
        f(`${name}.pem`),
        '-days',
        '30',
        '-subj',
        `/CN=${name}`,
      ]),
    );
  }
  openssl(['pkey', '-in', f('client.key'), '-out', f('encrypted.key'), '-aes256', '-passout', 'pass:secret']);
  writeFileSync(f('empty.pem'), '');
  writeFileSync(f('notes.txt'), 'not a certificate\n');
  mkdirSync(f('folder.pem'));
});

const good = (): TemporalTlsSettings => ({
  caFile: f('ca.pem'),
  certFile: f('client.pem'),
  keyFile: f('client.key'),
  serverName: 'temporal.internal',
});

/** The ConfigError's message for these settings. */
function refusal(tls: TemporalTlsSettings, now?: Date): string {
  try {
    loadTemporalTls(tls, now);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the settings were accepted');
}

describe('the start-up check of temporal.tls', () => {
  it('accepts a CA, a client certificate with its key and a server name, and reads them', () => {
    const material = loadTemporalTls(good());
    expect(material?.serverName).toBe('temporal.internal');
    expect(material?.ca?.toString()).toBe(readFileSync(f('ca.pem'), 'utf8'));
    expect(material?.clientCertPair?.crt.toString()).toBe(readFileSync(f('client.pem'), 'utf8'));
    expect(material?.clientCertPair?.key.toString()).toBe(readFileSync(f('client.key'), 'utf8'));
    expect(loadTemporalTls(undefined)).toBeUndefined();
    // TLS with the system's CAs and no files (a public certificate, or Temporal Cloud).
    expect(loadTemporalTls({})).toEqual({});
  });

  it('names the field and the path of a file that does not exist', () => {
    expect(refusal({ caFile: '/x/ca.pem' })).toContain(
      'temporal.tls.caFile: /x/ca.pem cannot be read (ENOENT: no such file)',
    );
  });

  it('names a folder given for a file', () => {
    expect(refusal({ ...good(), certFile: f('folder.pem') })).toContain(
      `temporal.tls.certFile: ${f('folder.pem')} cannot be read (EISDIR: a folder, not a file)`,
    );
  });

  it.skipIf(process.getuid?.() === 0)('names a file it may not read', () => {
    const file = f('locked.pem');
    writeFileSync(file, readFileSync(f('ca.pem')));
    chmodSync(file, 0o000);
    expect(refusal({ caFile: file })).toContain(`temporal.tls.caFile: ${file} cannot be read (EACCES`);
  });

  it('refuses an empty file and one that is not PEM', () => {
    expect(refusal({ caFile: f('empty.pem') })).toContain(`temporal.tls.caFile: ${f('empty.pem')} is empty`);
    expect(refusal({ caFile: f('notes.txt') })).toContain(
      `temporal.tls.caFile: ${f('notes.txt')} is not a PEM certificate: expected a "-----BEGIN CERTIFICATE-----" block`,
    );
    expect(refusal({ ...good(), keyFile: f('notes.txt') })).toContain(
      `temporal.tls.keyFile: ${f('notes.txt')} is not a PEM private key`,
    );
  });

  it('says when the certificate and the key are swapped', () => {
    const message = refusal({ ...good(), certFile: f('client.key'), keyFile: f('client.pem') });
    expect(message).toContain(
      `temporal.tls.certFile: ${f('client.key')} holds a private key, not a certificate (are certFile and keyFile swapped?)`,
    );
    expect(message).toContain(
      `temporal.tls.keyFile: ${f('client.pem')} holds a certificate, not a private key`,
    );
  });

  it('wants the client certificate and its key together', () => {
    expect(refusal({ caFile: f('ca.pem'), certFile: f('client.pem') })).toContain(
      `temporal.tls.certFile is set (${f('client.pem')}) but temporal.tls.keyFile is not: a client certificate needs its private key (TEMPORAL_TLS_KEY)`,
    );
    expect(refusal({ keyFile: f('client.key') })).toContain(
      `temporal.tls.keyFile is set (${f('client.key')}) but temporal.tls.certFile is not`,
    );
  });

  it('refuses a key that belongs to another certificate', () => {
    expect(refusal({ ...good(), keyFile: f('other.key') })).toContain(
      `temporal.tls.keyFile: ${f('other.key')} is not the private key of the certificate in temporal.tls.certFile (${f('client.pem')})`,
    );
  });

  it('refuses a key encrypted with a passphrase, which nothing could supply', () => {
    expect(refusal({ ...good(), keyFile: f('encrypted.key') })).toContain(
      `temporal.tls.keyFile: ${f('encrypted.key')} is encrypted with a passphrase`,
    );
  });

  it('refuses an expired certificate, with the date', () => {
    const message = refusal(good(), new Date(Date.now() + 40 * 86_400_000));
    expect(message).toMatch(
      /temporal\.tls\.caFile: .*ca\.pem holds a certificate for CN=Test CA that expired on /,
    );
  });

  it('shows where a relative path leads, and lists every problem at once with where settings come from', () => {
    const message = refusal({
      caFile: 'certs/ca.pem',
      certFile: '/nope/client.pem',
      keyFile: f('client.key'),
    });
    expect(message).toContain(
      `temporal.tls.caFile: certs/ca.pem (${path.resolve('certs/ca.pem')}) cannot be read`,
    );
    expect(message).toContain('temporal.tls.certFile: /nope/client.pem cannot be read (ENOENT');
    expect(message).toMatch(/TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY/);
  });

  it('is what start-up runs on the configuration, and what the connection options read through', () => {
    const config = testConfig((c) => {
      c.temporal = { tls: { caFile: '/x/ca.pem' } };
    });
    expect(() => requireTemporalTls(config)).toThrow(
      /temporal\.tls\.caFile: \/x\/ca\.pem cannot be read \(ENOENT/,
    );
    // Not a bare ENOENT from readFileSync, even when the start-up check was skipped.
    expect(() => temporalConnectionOptions(config, {})).toThrow(ConfigError);
  });
});

describe('the connection options', () => {
  it('carry the CA, the client certificate pair and the server name', () => {
    const config = testConfig((c) => {
      c.temporal = { address: 'temporal.internal:7233', tls: good() };
    });
    const options = temporalConnectionOptions(config, {});
    expect(options.address).toBe('temporal.internal:7233');
    expect(options.tls).toMatchObject({ serverNameOverride: 'temporal.internal' });
    const tls = options.tls as { serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer } };
    expect(tls.serverRootCACertificate?.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls.clientCertPair?.crt.toString()).toBe(readFileSync(f('client.pem'), 'utf8'));
  });

  it('speak TLS with an API key even without temporal.tls (Temporal Cloud)', () => {
    const options = temporalConnectionOptions(testConfig(), { temporalApiKey: 'key' });
    expect(options).toMatchObject({ apiKey: 'key', tls: true });
    expect(temporalConnectionOptions(testConfig(), {}).tls).toBeUndefined();
  });
});

describe('the environment', () => {
  /** The demo configuration, with `temporal` as given, in a file of its own. */
  function configFile(temporal?: object): string {
    const data = parse(readFileSync(path.resolve('config', 'baton.yaml'), 'utf8')) as Record<string, unknown>;
    if (temporal) data.temporal = temporal;
    const file = f(`baton-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify(data));
    return file;
  }

  it('sets each TLS field with TEMPORAL_TLS_CA, _CERT, _KEY and _SERVER_NAME, over the file', () => {
    const { config } = loadConfig({
      BATON_CONFIG: configFile({ tls: { caFile: '/file/ca.pem', serverName: 'from-file' } }),
      TEMPORAL_TLS_CERT: '/env/client.pem',
      TEMPORAL_TLS_KEY: '/env/client.key',
      TEMPORAL_TLS_SERVER_NAME: 'from-env',
    });
    expect(config.temporal.tls).toEqual({
      caFile: '/file/ca.pem',
      certFile: '/env/client.pem',
      keyFile: '/env/client.key',
      serverName: 'from-env',
    });
    const fromEnvOnly = loadConfig({ BATON_CONFIG: configFile(), TEMPORAL_TLS_CA: '/env/ca.pem' }).config;
    expect(fromEnvOnly.temporal.tls).toEqual({ caFile: '/env/ca.pem' });
  });

  it('turns TLS on with TEMPORAL_TLS=true and off with TEMPORAL_TLS=false', () => {
    expect(loadConfig({ BATON_CONFIG: configFile(), TEMPORAL_TLS: 'true' }).config.temporal.tls).toEqual({});
    const off = loadConfig({
      BATON_CONFIG: configFile({ tls: { caFile: '/file/ca.pem' } }),
      TEMPORAL_TLS: 'false',
    });
    expect(off.config.temporal.tls).toBeUndefined();
    expect(loadConfig({ BATON_CONFIG: configFile() }).config.temporal.tls).toBeUndefined();
  });

  it('refuses TEMPORAL_TLS=false beside TLS files, and a TEMPORAL_TLS that is not a boolean', () => {
    expect(() =>
      loadConfig({ BATON_CONFIG: configFile(), TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: '/env/ca.pem' }),
    ).toThrow('TEMPORAL_TLS=false turns TLS off, but TEMPORAL_TLS_CA name TLS settings');
    expect(() => loadConfig({ BATON_CONFIG: configFile(), TEMPORAL_TLS: 'yes please' })).toThrow(
      'TEMPORAL_TLS must be true or false, not "yes please"',
    );
  });

  it('takes TEMPORAL_API_KEY when the file names no apiKeyEnv, and keeps the one it names', () => {
    expect(loadConfig({ BATON_CONFIG: configFile(), TEMPORAL_API_KEY: 'k' }).config.temporal.apiKeyEnv).toBe(
      'TEMPORAL_API_KEY',
    );
    expect(loadConfig({ BATON_CONFIG: configFile() }).config.temporal.apiKeyEnv).toBeUndefined();
    const named = loadConfig({
      BATON_CONFIG: configFile({ apiKeyEnv: 'CLOUD_KEY' }),
      TEMPORAL_API_KEY: 'k',
    }).config;
    expect(named.temporal.apiKeyEnv).toBe('CLOUD_KEY');
  });
});

describe('a refused connection, explained', () => {
  const tlsConfig = (tls?: TemporalTlsSettings) =>
    testConfig((c) => {
      c.temporal = { address: '127.0.0.1:7233', ...(tls ? { tls } : {}) };
    });
  // The worker's Core SDK errors, as seen against the cluster with --tls.
  const transport = (source: string) =>
    new Error(
      `Failed to call GetSystemInfo: code: 'Unknown error', message: "transport error", source: ${source}`,
    );

  it('names the client certificate settings when the server asks for one', () => {
    const err = transport(
      'tonic::transport::Error(Transport, hyper::Error(Io, Custom { kind: InvalidData, error: "received fatal alert: CertificateRequired" }))',
    );
    expect(explainTemporalConnectionFailure(err, tlsConfig({ caFile: '/ca.pem' }))).toMatch(
      /requires a client certificate \(mutual TLS\).*TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/,
    );
    // Which of these the worker sees depends on timing.
    for (const reason of ['connection closed', 'connection was not ready']) {
      const closed = transport(`tonic::transport::Error(Transport, hyper::Error(Canceled, "${reason}"))`);
      expect(explainTemporalConnectionFailure(closed, tlsConfig({ caFile: '/ca.pem' }))).toMatch(
        /probably requires a client certificate/,
      );
    }
  });

  it('names the CA file when the server certificate has another issuer', () => {
    const err = new Error(
      'tonic::transport::Error(Transport, ConnectError(Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }))',
    );
    expect(explainTemporalConnectionFailure(err, tlsConfig({ caFile: '/other/ca.pem' }))).toContain(
      "the server's certificate is not signed by temporal.tls.caFile (/other/ca.pem)",
    );
  });

  it('suggests TLS when a plain connection is dropped, and says nothing of other failures', () => {
    const err = transport(
      'tonic::transport::Error(Transport, hyper::Error(Io, Custom { kind: BrokenPipe, error: "stream closed because of a broken pipe" }))',
    );
    expect(explainTemporalConnectionFailure(err, tlsConfig())).toMatch(/it may require TLS/);
    expect(
      explainTemporalConnectionFailure(new Error('connect ECONNREFUSED 127.0.0.1:7233'), tlsConfig()),
    ).toBe(undefined);
  });
});
