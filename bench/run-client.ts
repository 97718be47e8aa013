// Runs PostgreSQL client binaries (psql, createdb, pgbench) against the benchmark's server.
// They are clients, so they run directly (also as root) and connect over TCP as `postgres`.

import { spawn } from 'node:child_process';
import path from 'node:path';

/** Characters of a client's stdout and stderr kept. */
export const client_output_chars_max = 256 * 1024;

export interface Completed {
  readonly stdout: string;
  readonly stderr: string;
}

export function connectionArgs(port: number): string[] {
  return ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'];
}

/** Runs a client binary to completion; rejects with its output when it fails. */
export function runClient(bin: string, args: string[]): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < client_output_chars_max) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < client_output_chars_max) stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed (${code ?? signal}):\n${stdout}\n${stderr}`));
    });
  });
}

/** One query's result as unaligned text: rows by line, columns separated by '|'. */
export async function psqlQuery(bindir: string, port: number, sql: string): Promise<string> {
  const { stdout } = await runClient(path.join(bindir, 'psql'), [...connectionArgs(port), '-d', 'postgres', '-X', '-v', 'ON_ERROR_STOP=1', '-t', '-A', '-c', sql]);
  return stdout.trim();
}
