// What every sandbox (a simulated provider speaking its real wire protocol) offers the platform:
// its own port at the provider's paths, a mount under /sandbox/:channel on the main port, test
// credentials named as the provider names them, fault injection, its own books, and where it
// sends its notifications. The Stripe, Alipay and WeChat Pay sandboxes all satisfy it.
import type { FastifyInstance } from 'fastify';

export interface SandboxFaults {
  readonly error_rate: number;
  readonly timeout_rate: number;
  readonly latency_ms: number;
  readonly outage: boolean;
  readonly late_success_rate: number;
  readonly duplicate_notify_rate: number;
}

export interface SandboxLedgerRow {
  readonly out_trade_no: string;
  /** Minor units the sandbox charged and refunded for this trade number. */
  readonly charged: number;
  readonly refunded: number;
}

export interface ChannelSandbox {
  readonly channel: string;
  register(app: FastifyInstance, prefix: string): Promise<void>;
  listen(port?: number): Promise<string>;
  close(): Promise<void>;
  /** `{ base_url, ... }`: the credentials a merchant-side client needs, named as the provider names them. */
  credentials(): { readonly base_url: string };
  setFaults(faults: Partial<SandboxFaults>): void;
  resetFaults(): void;
  faults(): SandboxFaults;
  ledger(): SandboxLedgerRow[];
  /** Where the sandbox sends its notifications (the platform's /notify/:channel), or null for none. */
  setWebhookUrl(url: string | null): void;
  /**
   * The payer completes a QR or redirect payment (POST /sandbox/:channel/pay/:out_trade_no): the
   * sandbox charges it and sends its signed notification. Absent for channels without one.
   */
  payerCompletes?(outTradeNo: string): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }>;
}
