// Where the database's time went, statement by statement: pg_stat_statements (loaded only when
// the benchmark is run with --statements), read after the load and divided by the purchases.

import { psqlQuery } from './run-client.ts';

/** Statements listed, the most expensive first. */
export const statements_listed_max = 25;
/** Characters of a statement's text shown. */
const statement_text_chars_max = 110;

export const statementsSettings = {
  shared_preload_libraries: "'pg_stat_statements'",
  'pg_stat_statements.track': "'all'",
  'pg_stat_statements.track_planning': 'on',
} as const;

export interface StatementCost {
  readonly calls: number;
  /** Planning and execution, ms, over the whole load. */
  readonly total_ms: number;
  readonly plan_ms: number;
  readonly text: string;
}

export async function resetStatements(bindir: string, port: number): Promise<void> {
  await psqlQuery(bindir, port, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await psqlQuery(bindir, port, 'SELECT pg_stat_statements_reset()');
}

export async function topStatements(bindir: string, port: number): Promise<StatementCost[]> {
  const out = await psqlQuery(bindir, port, `SELECT calls, round((total_exec_time + total_plan_time)::numeric, 1), round(total_plan_time::numeric, 1),
      regexp_replace(left(query, ${statement_text_chars_max}), '\\s+', ' ', 'g')
    FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT ${statements_listed_max}`);
  return out.split('\n').filter((line) => line.length > 0).map((line) => {
    const [calls, total, plan, ...text] = line.split('|');
    return { calls: Number(calls), total_ms: Number(total), plan_ms: Number(plan), text: text.join('|') };
  });
}

export function formatStatements(statements: readonly StatementCost[], purchases: number): string {
  const lines = [`statements (pg_stat_statements, both phases, per purchase of ${purchases}): calls, ms planning+execution (of which planning)`];
  for (const s of statements) {
    const per = purchases > 0 ? purchases : 1;
    lines.push(`  ${(s.calls / per).toFixed(2).padStart(6)}  ${(s.total_ms / per).toFixed(3).padStart(7)} ms (${(s.plan_ms / per).toFixed(3)})  ${s.text}`);
  }
  return lines.join('\n') + '\n';
}
