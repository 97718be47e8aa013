// The sandbox's state: orders by out_trade_no, refunds by out_refund_no, and its own books
// (what it charged and refunded per out_trade_no), all in bounded maps.
import { wechatSandboxLimits } from './limits.ts';

export type TradeState = 'NOTPAY' | 'USERPAYING' | 'SUCCESS' | 'REFUND' | 'CLOSED' | 'REVOKED' | 'PAYERROR';

export interface Trade {
  readonly out_trade_no: string;
  readonly appid: string;
  readonly mchid: string;
  readonly description: string;
  readonly notify_url: string;
  readonly total: number; // fen
  readonly currency: string;
  readonly code_url: string;
  readonly created_at: string;
  trade_state: TradeState;
  transaction_id: string | null;
  success_time: string | null;
  refunded: number; // fen
}

export interface Refund {
  readonly refund_id: string;
  readonly out_refund_no: string;
  readonly out_trade_no: string;
  readonly transaction_id: string;
  readonly refund: number;
  readonly total: number;
  readonly currency: string;
  readonly status: 'SUCCESS';
  readonly create_time: string;
  readonly success_time: string;
}

export interface LedgerRow {
  readonly out_trade_no: string;
  readonly charged: number;
  readonly refunded: number;
}

function bounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}

export class WechatStore {
  readonly trades = new Map<string, Trade>();
  readonly refunds = new Map<string, Refund>();
  private readonly books = new Map<string, { charged: number; refunded: number }>();

  constructor(private readonly capacity: number) {}

  addTrade(trade: Trade): void {
    bounded(this.trades, trade.out_trade_no, trade, this.capacity);
  }

  addRefund(refund: Refund): void {
    bounded(this.refunds, refund.out_refund_no, refund, this.capacity);
  }

  charge(out_trade_no: string, fen: number): void {
    const row = this.books.get(out_trade_no) ?? { charged: 0, refunded: 0 };
    row.charged += fen;
    bounded(this.books, out_trade_no, row, wechatSandboxLimits.ledger_rows_max);
  }

  recordRefund(out_trade_no: string, fen: number): void {
    const row = this.books.get(out_trade_no);
    if (row === undefined || row.refunded + fen > row.charged) throw new Error(`sandbox invariant: refund of ${fen} on ${out_trade_no} exceeds its charge`);
    row.refunded += fen;
  }

  ledgerRows(): LedgerRow[] {
    return [...this.books].map(([out_trade_no, row]) => ({ out_trade_no, charged: row.charged, refunded: row.refunded }));
  }
}
