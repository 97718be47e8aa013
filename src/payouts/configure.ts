// Which payout banks exist. With sandboxes on: the JSON-API bank (bank_api, first choice) and the
// file-exchange bank (bank_file, its backup), each a sandbox on a loopback port of its own;
// otherwise from the environment (BANK_API_BASE_URL, BANK_API_KEY, BANK_API_WEBHOOK_SECRET;
// BANK_FILE_BASE_URL, BANK_FILE_USERNAME, BANK_FILE_PASSWORD). The banks of a running app are
// kept beside its context (payoutBanksOf), where the routes and workers find them.
import type { Clock } from '../kernel/clock.ts';
import type { AppContext } from '../http/context.ts';
import { createBankApiSandbox } from '../../sandbox/bank-api/index.ts';
import { createBankFileSandbox } from '../../sandbox/bank-file/index.ts';
import type { BankSandbox } from '../../sandbox/shared/bank.ts';
import type { PayoutBankConnector } from './banks/contract.ts';
import { createBankApiConnector } from './banks/bank-api/http.ts';
import { createBankFileConnector } from './banks/bank-file/http.ts';
import { checkPayoutTimings, defaultPayoutTimings, payoutLimits, type PayoutTimings } from './limits.ts';

export interface PayoutBanks {
  /** Bank ids in order of preference: a payout goes to the first, and fails over down the list. */
  readonly order: readonly string[];
  readonly connectors: ReadonlyMap<string, PayoutBankConnector>;
  readonly sandboxes: ReadonlyMap<string, BankSandbox>;
  readonly timings: PayoutTimings;
  /** Points the sandboxes' notifications at the platform once its URL is known. */
  attach(publicUrl: string): void;
  close(): Promise<void>;
}

export interface PayoutBanksOptions {
  readonly sandbox: boolean;
  readonly clock: Clock;
  readonly env?: NodeJS.ProcessEnv;
  /** One bank call's timeout (default payoutLimits.bank_call_timeout_ms). */
  readonly callTimeoutMs?: number;
  readonly timings?: Partial<PayoutTimings>;
  /** How long the sandboxes' timeout fault holds an answer (default 30 s). */
  readonly sandboxTimeoutHoldMs?: number;
}

export async function configurePayoutBanks(options: PayoutBanksOptions): Promise<PayoutBanks> {
  const timings = Object.freeze({ ...defaultPayoutTimings, ...options.timings });
  checkPayoutTimings(timings);
  const timeoutMs = options.callTimeoutMs ?? payoutLimits.bank_call_timeout_ms;
  const connectors = new Map<string, PayoutBankConnector>();
  const sandboxes = new Map<string, BankSandbox>();
  if (options.sandbox) {
    const api = createBankApiSandbox({ bank: 'bank_api', clock: options.clock, ...(options.sandboxTimeoutHoldMs ? { timeoutHoldMs: options.sandboxTimeoutHoldMs } : {}) });
    const file = createBankFileSandbox({ bank: 'bank_file', clock: options.clock, ...(options.sandboxTimeoutHoldMs ? { timeoutHoldMs: options.sandboxTimeoutHoldMs } : {}) });
    await Promise.all([api.listen(0), file.listen(0)]);
    sandboxes.set('bank_api', api).set('bank_file', file);
    const a = api.credentials();
    const f = file.credentials();
    connectors.set('bank_api', createBankApiConnector({ bank: 'bank_api', baseUrl: a.base_url, apiKey: a.api_key!, webhookSecret: a.webhook_secret!, timeoutMs, clock: options.clock }));
    connectors.set('bank_file', createBankFileConnector({ bank: 'bank_file', baseUrl: f.base_url, username: f.username!, password: f.password!, timeoutMs }));
  } else {
    const env = options.env ?? {};
    if (env.BANK_API_BASE_URL && env.BANK_API_KEY && env.BANK_API_WEBHOOK_SECRET) {
      connectors.set('bank_api', createBankApiConnector({ bank: 'bank_api', baseUrl: env.BANK_API_BASE_URL, apiKey: env.BANK_API_KEY, webhookSecret: env.BANK_API_WEBHOOK_SECRET, timeoutMs, clock: options.clock }));
    }
    if (env.BANK_FILE_BASE_URL && env.BANK_FILE_USERNAME && env.BANK_FILE_PASSWORD) {
      connectors.set('bank_file', createBankFileConnector({ bank: 'bank_file', baseUrl: env.BANK_FILE_BASE_URL, username: env.BANK_FILE_USERNAME, password: env.BANK_FILE_PASSWORD, timeoutMs }));
    }
  }
  return {
    order: [...connectors.keys()],
    connectors,
    sandboxes,
    timings,
    attach(publicUrl) {
      for (const [id, sandbox] of sandboxes) sandbox.setWebhookUrl(`${publicUrl}/notify/bank/${id}`);
    },
    async close() {
      for (const connector of connectors.values()) connector.close();
      await Promise.all([...sandboxes.values()].map((sandbox) => sandbox.close()));
    },
  };
}

const banksByContext = new WeakMap<AppContext, PayoutBanks>();

/** Makes `banks` the payout banks of the app of `ctx` (tests may put others in their place). */
export function attachPayoutBanks(ctx: AppContext, banks: PayoutBanks): void {
  banksByContext.set(ctx, banks);
}

export function payoutBanksOf(ctx: AppContext): PayoutBanks {
  const banks = banksByContext.get(ctx);
  if (banks === undefined) throw new Error('assertion failed: payoutBanksOf: no payout banks attached to this app');
  return banks;
}
