// `npm test`: starts a throwaway PostgreSQL cluster (unless TEST_DATABASE_URL is given), then runs
// the whole vitest suite once. Suites that run on both stores read TEST_DATABASE_URL.
import { spawn } from 'node:child_process';
import { startPgCluster, type PgCluster } from './support/pg-cluster.ts';

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
  const args = ['vitest', 'run', ...process.argv.slice(2)];
  const child = spawn('npx', args, { stdio: 'inherit', env });
  const stopCluster = (): void => cluster?.stop();
  process.on('SIGINT', () => child.kill('SIGINT'));
  const code: number = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  stopCluster();
  return code;
}

main().then((code) => process.exit(code));
