// Starts a throwaway NATS server with JetStream (Debian's `nats-server`) on 127.0.0.1 and a spare
// port, its store in a temporary folder. Used by `npm test` (TEST_NATS_URL) and the stream benchmark.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sparePort } from './pg-cluster.ts';

export interface NatsServer {
  readonly url: string;
  stop(): Promise<void>;
}

export const natsInstallHint = 'nats-server was not found: install it with `apt-get install -y --no-install-recommends nats-server` (Debian/Ubuntu).';

/** The nats-server binary, or null when it is not installed. */
export function natsServerBinary(): string | null {
  for (const candidate of [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (candidate && spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : null;
}

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => socket.end(() => resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > until) throw new Error(`nats-server did not listen on ${port} within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startNatsServer(): Promise<NatsServer> {
  const binary = natsServerBinary();
  if (binary === null) throw new Error(natsInstallHint);
  const storeDir = mkdtempSync(path.join(tmpdir(), 'clearway-nats-'));
  const port = await sparePort();
  const child = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([waitForPort(port, 10_000), exited.then(() => Promise.reject(new Error(`nats-server exited: ${stderr}`)))]);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(storeDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
