// Starts `clearway serve` as a child process against the benchmark's database and waits until
// it answers GET /readyz with 200. Keeps the tail of its output for error reports.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpClient } from './http-client.ts';

export const ready_timeout_ms = 60_000;
export const ready_poll_interval_ms = 200;
export const exit_wait_ms = 5_000;
/** Characters of the server's stdout and stderr kept for reports. */
export const output_tail_chars_max = 16 * 1024;
/**
 * Node flags for the server, as `npm start` runs it (package.json): a young generation of 64 MB
 * semi-spaces instead of V8's 16 MB halves the scavenges' cost per purchase (0.082 -> 0.043 ms,
 * session 9), at the price of longer (about 6 ms) but four times rarer pauses.
 */
export const serve_node_flags: readonly string[] = ['--max-semi-space-size=64'];

/** The Node flags the benchmark's server runs with: serve_node_flags, then CLEARWAY_BENCH_NODE_FLAGS (say, a profiler's). */
export function serverNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...serve_node_flags, ...(env.CLEARWAY_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
}

export interface ClearwayProcessOptions {
  readonly repoRoot: string;
  readonly databaseUrl: string;
  readonly port: number;
}

export interface ClearwayProcess {
  readonly baseUrl: string;
  readonly adminKey: string;
  readonly pid: number | undefined;
  /** Last lines the server wrote to stdout and stderr. */
  outputTail(): { stdout: string; stderr: string };
  /** Sends SIGTERM now (synchronous: safe in a signal handler). */
  kill(): void;
  /** SIGTERM, then SIGKILL if it has not exited within exit_wait_ms. */
  stop(): Promise<void>;
}

class Tail {
  private text = '';
  append(chunk: string): void {
    this.text += chunk;
    if (this.text.length > 2 * output_tail_chars_max) this.text = this.text.slice(-output_tail_chars_max);
  }
  toString(): string {
    return this.text.slice(-output_tail_chars_max);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitUntilReady(child: ChildProcess, baseUrl: string, describe: () => string): Promise<void> {
  const client = new HttpClient({ baseUrl, sockets_max: 1, timeout_ms: 2_000 });
  const deadline = Date.now() + ready_timeout_ms;
  let last = 'no answer yet';
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`clearway serve exited (${child.exitCode ?? child.signalCode}) before it was ready\n${describe()}`);
      }
      try {
        const response = await client.get('/readyz');
        if (response.status === 200) return;
        last = `GET /readyz -> ${response.status} ${response.body.slice(0, 500)}`;
      } catch (error) {
        last = `GET /readyz: ${error instanceof Error ? error.message : String(error)}`;
      }
      await sleep(ready_poll_interval_ms);
    }
    throw new Error(`clearway serve was not ready within ${ready_timeout_ms} ms (${last})\n${describe()}`);
  } finally {
    client.close();
  }
}

export async function startClearway(options: ClearwayProcessOptions): Promise<ClearwayProcess> {
  const adminKey = `bench_admin_${randomBytes(24).toString('hex')}`;
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const child = spawn(process.execPath, [...serverNodeFlags(), '--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: options.repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      PORT: String(options.port),
      HOST: '127.0.0.1',
      CLEARWAY_ADMIN_KEY: adminKey,
      LOG_LEVEL: 'warn',
      CLEARWAY_SANDBOX: '1',
    },
  });
  const stdout = new Tail();
  const stderr = new Tail();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => stdout.append(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.append(chunk));
  const outputTail = (): { stdout: string; stderr: string } => ({ stdout: stdout.toString(), stderr: stderr.toString() });
  const describe = (): string => `--- server stdout (tail) ---\n${stdout}\n--- server stderr (tail) ---\n${stderr}`;
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  const stop = async (): Promise<void> => {
    kill();
    const timer = setTimeout(() => child.kill('SIGKILL'), exit_wait_ms);
    await exited(child);
    clearTimeout(timer);
  };
  try {
    await waitUntilReady(child, baseUrl, describe);
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl, adminKey, pid: child.pid, outputTail, kill, stop };
}
