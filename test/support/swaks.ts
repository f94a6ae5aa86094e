/**
 * One SMTP conversation with Debian's swaks, a real SMTP client (`.ci/run` installs it):
 * the message goes from a file, exactly as given, to a listener on loopback.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SwaksResult {
  code: number | null;
  transcript: string;
}

export async function swaks(
  server: { port: number; host?: string },
  envelope: { from: string; to: string; helo?: string },
  data: string,
): Promise<SwaksResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-swaks-'));
  const file = path.join(dir, 'message.eml');
  writeFileSync(file, data);
  const args = [
    ['--server', server.host ?? '127.0.0.1'],
    ['--port', String(server.port)],
    ['--helo', envelope.helo ?? 'mail.example.com'],
    ['--from', envelope.from],
    ['--to', envelope.to],
    ['--data', `@${file}`],
    ['--timeout', '60'],
  ].flat();
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn('swaks', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let transcript = '';
      child.stdout.on('data', (chunk: Buffer) => (transcript += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (transcript += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, transcript }));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
