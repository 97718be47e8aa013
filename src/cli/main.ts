// The `clearway` command: serve, migrate, demo, bench.
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import { migrate } from '../db/migrate.ts';
import { ensureDemoMerchant, startApp } from '../app.ts';
import { checkLedger } from '../ledger/check.ts';

const usage = `usage: clearway <command>

  serve     run the HTTP API, the sandbox channels and the workers (npm start)
  migrate   apply pending database migrations and exit
  demo      start like serve, then pay one demo order end to end and print it
  bench [payments|ledger|settlement|stream|all] [flags]
            benchmarks on a throwaway PostgreSQL server (npm run bench -- <scenario>); no scenario:
            the payment benchmark; ledger: postings/s against pgbench; settlement: 1,000,000
            transactions settled; stream: publish and consume rates; all: the four in turn
            (clearway bench help; docs/benchmarks.md)
  settle    settle a day: clearway settle --date YYYY-MM-DD [--merchant mch_…] (docs/settlement.md)
  ledger check
            prove the books are whole: every entry balances, every balance equals its postings,
            one capture entry per succeeded payment, one refund entry per succeeded refund
            (exit status 1 when a check fails)

configuration (environment): PORT, HOST, DATABASE_URL, CLEARWAY_DATA_DIR, CLEARWAY_ADMIN_KEY,
CLEARWAY_SANDBOX, CLEARWAY_ORDER_TTL_SECONDS, CLEARWAY_RATE_LIMIT_PER_MINUTE, LOG_LEVEL — see README.md`;

async function serve(): Promise<void> {
  const app = await startApp();
  const lines = [`Clearway is running at ${app.url} (store: ${app.ctx.db.kind})`, `  admin key:          ${app.adminKey}`];
  if (app.ctx.config.sandbox) {
    const demo = await ensureDemoMerchant(app.ctx.db, app.ctx.clock.now());
    lines.push(`  demo merchant:      ${demo.id}`, `  demo merchant key:  ${demo.apiKey}`);
    for (const [id, sandbox] of app.sandboxes) lines.push(`  sandbox ${id}:  ${sandbox.credentials().base_url} (also under ${app.url}/sandbox/${id})`);
  }
  lines.push(`  API docs:           ${app.url}/docs`, `  health:             ${app.url}/healthz   metrics: ${app.url}/metrics`, '');
  process.stdout.write(lines.join('\n') + '\n');
  const shutdown = (): void => {
    app.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

async function migrateOnly(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const applied = await migrate(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'migrations are current\n');
  } finally {
    await db.close();
  }
}

async function ledgerCheck(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(db);
    const report = await checkLedger(db);
    for (const check of report.checks) process.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.detail}\n`);
    process.stdout.write(report.ok ? 'the ledger is whole\n' : 'the ledger check FAILED\n');
    if (!report.ok) process.exitCode = 1;
  } finally {
    await db.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  switch (command) {
    case 'serve':
      return serve();
    case 'migrate':
      return migrateOnly();
    case 'demo':
      return (await import('./demo.ts')).runDemo();
    case 'ledger':
      if (argv[1] === 'check') return ledgerCheck();
      process.stderr.write(usage + '\n');
      process.exitCode = 2;
      return;
    case 'settle':
      process.exitCode = await (await import('../settlement/cli.ts')).runSettleCommand(argv.slice(1));
      return;
    case 'bench':
      return (await import('../../bench/scenarios.ts')).runBench(argv.slice(1));
    default:
      process.stderr.write(usage + '\n');
      process.exitCode = command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`clearway: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
