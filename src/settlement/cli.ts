// `clearway settle --date YYYY-MM-DD [--merchant mch_…]`: settles a day on the configured
// database and prints the run as JSON. Exit code 0 when every batch settled or was unchanged,
// 1 when one failed its controls, differs on re-run, or is blocked or out of order; 2 on bad usage.
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import { migrate } from '../db/migrate.ts';
import { systemClock, type Clock } from '../kernel/clock.ts';
import { isIdOf } from '../kernel/ids.ts';
import { createLogger } from '../logger.ts';
import { isSettlementDate } from './domain/day-window.ts';
import { checkSettlementLimits } from './limits.ts';
import { settleDay, type SettleDayReport } from './service.ts';
import { defaultScheduleFrom } from './settings.ts';
import { runView } from './views.ts';

export const settleUsage = 'usage: clearway settle --date YYYY-MM-DD [--merchant mch_…]';

export function parseSettleArguments(argv: readonly string[]): { date: string; merchantId?: string } | string {
  let date: string | undefined;
  let merchantId: string | undefined;
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--date' && value !== undefined && isSettlementDate(value)) date = value;
    else if (name === '--merchant' && value !== undefined && isIdOf('merchant', value)) merchantId = value;
    else return `clearway settle: bad argument ${name ?? ''} ${value ?? ''}\n${settleUsage}`;
  }
  if (date === undefined) return `clearway settle: --date is required\n${settleUsage}`;
  return merchantId === undefined ? { date } : { date, merchantId };
}

const troubled = new Set(['failed', 'rerun_differs', 'blocked', 'out_of_order']);

export function exitCodeOf(report: SettleDayReport): number {
  return report.results.some((r) => troubled.has(r.outcome)) ? 1 : 0;
}

export async function runSettleCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, clock: Clock = systemClock): Promise<number> {
  const parsed = parseSettleArguments(argv);
  if (typeof parsed === 'string') {
    process.stderr.write(parsed + '\n');
    return 2;
  }
  checkSettlementLimits();
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel, pino.destination(2)); // logs on stderr, the run on stdout
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(db);
    const report = await settleDay({ db, clock, logger, defaultSchedule: defaultScheduleFrom(env) }, parsed);
    process.stdout.write(JSON.stringify(runView(report), null, 2) + '\n');
    return exitCodeOf(report);
  } finally {
    await db.close();
  }
}
