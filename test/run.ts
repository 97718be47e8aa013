// `npm test`: starts a throwaway PostgreSQL cluster (unless TEST_DATABASE_URL is given) and, when
// the `nats-server` binary is installed, a throwaway NATS JetStream server (unless TEST_NATS_URL
// is given), then runs the whole vitest suite once. Suites that run on both stores read
// TEST_DATABASE_URL; the finance stream's NATS suites read TEST_NATS_URL.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startPgCluster, type PgCluster } from './support/pg-cluster.ts';
import { natsInstallHint, natsServerBinary, startNatsServer, type NatsServer } from './support/nats-server.ts';

/** The plain closing line CI reads: `N passed, N failed, N skipped`. */
function printTotals(summaryFile: string): void {
  if (!existsSync(summaryFile)) return;
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
  console.log(`${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${summary.numPendingTests + summary.numTodoTests} skipped`);
}

async function main(): Promise<number> {
  let cluster: PgCluster | undefined;
  const env = { ...process.env };
  if (!env.TEST_DATABASE_URL) {
    try {
      cluster = await startPgCluster();
    } catch (error) {
      console.error(String(error instanceof Error ? error.message : error));
      return 1;
    }
    env.TEST_DATABASE_URL = cluster.url;
    console.log(`test PostgreSQL server: ${cluster.url}`);
  }
  let nats: NatsServer | undefined;
  if (!env.TEST_NATS_URL) {
    if (natsServerBinary() === null) {
      console.warn(`${natsInstallHint} The NATS suites of the finance stream are skipped.`);
    } else {
      try {
        nats = await startNatsServer();
      } catch (error) {
        cluster?.stop();
        console.error(String(error instanceof Error ? error.message : error));
        return 1;
      }
      env.TEST_NATS_URL = nats.url;
      console.log(`test NATS server: ${nats.url}`);
    }
  }
  const summaryFile = path.join(mkdtempSync(path.join(tmpdir(), 'clearway-test-')), 'summary.json');
  const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${summaryFile}`, ...process.argv.slice(2)];
  const child = spawn('npx', args, { stdio: 'inherit', env });
  const stopCluster = (): void => cluster?.stop();
  process.on('SIGINT', () => child.kill('SIGINT'));
  const code: number = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  stopCluster();
  await nats?.stop();
  printTotals(summaryFile);
  return code;
}

main().then((code) => process.exit(code));
