// Starts a throwaway PostgreSQL cluster from the system binaries (`pg_config --bindir`),
// listening on 127.0.0.1 and a spare port. Used by `npm test` and `npm run bench`.
// As root, initdb refuses to run: the folders are chowned to `postgres` and the binaries run
// through `runuser -u postgres --`.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface PgCluster {
  /** Over TCP on 127.0.0.1. */
  readonly url: string;
  /** Over the cluster's Unix-domain socket (same machine only; no TCP stack per round trip). */
  readonly socketUrl: string;
  readonly port: number;
  readonly bindir: string;
  stop(): void;
}

const installHint =
  'PostgreSQL server binaries were not found. Install them with `apt-get install -y postgresql` ' +
  '(Debian/Ubuntu) so that `pg_config --bindir` names a folder holding initdb, pg_ctl and postgres, ' +
  'or set TEST_DATABASE_URL to a PostgreSQL server you own.';

export function postgresBindir(): string {
  const fromEnv = process.env.PG_BINDIR;
  if (fromEnv && existsSync(path.join(fromEnv, 'initdb'))) return fromEnv;
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  } catch {
    // fall through to the hint
  }
  for (const version of ['17', '16', '15', '14']) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error(installHint);
}

export async function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function run(asPostgres: boolean, bin: string, args: string[]): void {
  const [command, fullArgs] = asPostgres ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const result = spawnSync(command, fullArgs, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${bin} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

export interface StartOptions {
  /** Extra postgresql.conf lines (e.g. tuning for benchmarks). */
  readonly settings?: Record<string, string | number>;
}

export async function startPgCluster(options: StartOptions = {}): Promise<PgCluster> {
  const bindir = postgresBindir();
  const isRoot = process.getuid?.() === 0;
  const root = mkdtempSync(path.join(tmpdir(), 'clearway-pg-'));
  const dataDir = path.join(root, 'data');
  const socketDir = path.join(root, 'socket');
  mkdirSync(dataDir);
  mkdirSync(socketDir);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    for (const dir of [root, dataDir, socketDir]) chownSync(dir, uid, gid);
  }
  const port = await sparePort();
  run(isRoot, path.join(bindir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale']);
  const settings: Record<string, string | number> = {
    listen_addresses: "'127.0.0.1'",
    port,
    unix_socket_directories: `'${socketDir}'`,
    max_connections: 200,
    shared_buffers: "'256MB'",
    fsync: 'on',
    ...options.settings,
  };
  const conf = Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n');
  writeFileSync(path.join(dataDir, 'postgresql.auto.conf'), conf + '\n');
  if (isRoot) run(false, 'chown', ['postgres:postgres', path.join(dataDir, 'postgresql.auto.conf')]);
  run(isRoot, path.join(bindir, 'pg_ctl'), ['-D', dataDir, '-l', path.join(root, 'server.log'), '-w', '-t', '60', 'start']);
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      run(isRoot, path.join(bindir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    socketUrl: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}&port=${port}`,
    port,
    bindir,
    stop,
  };
}
