// The sandbox's trades and books, and what each trade method does to them. Pure state and
// answers (response nodes); signing, faults and HTTP live in gateway.ts.
import { randomBytes } from 'node:crypto';
import { alipaySandboxLimits } from './limits.ts';

export type TradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_FINISHED' | 'TRADE_CLOSED';

export interface Trade {
  readonly out_trade_no: string;
  readonly trade_no: string;
  readonly total_fen: bigint;
  readonly subject: string;
  readonly created_at: string;
  readonly notify_url: string | null;
  readonly qr_code: string;
  status: TradeStatus;
  paid_at: string | null;
  refunded_fen: bigint;
  readonly refunds: Map<string, { readonly fen: bigint; readonly at: string }>;
}

export type Node = Record<string, string>;

const ok = (): Node => ({ code: '10000', msg: 'Success' });
export const businessError = (sub_code: string, sub_msg: string): Node => ({ code: '40004', msg: 'Business Failed', sub_code, sub_msg });

export function toYuan(fen: bigint): string {
  const digits = fen.toString().padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** Strict yuan string -> fen; null for anything else ("1e3", "-1", "1.234", " 1"). */
export function parseYuan(value: unknown): bigint | null {
  if (typeof value !== 'string') return null;
  const match = /^(0|[1-9]\d{0,11})(?:\.(\d{1,2}))?$/.exec(value);
  if (match === null) return null;
  return BigInt(match[1]!) * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
}

const validTradeNumber = (value: unknown, max: number): value is string => typeof value === 'string' && value.length >= 1 && value.length <= max && /^[A-Za-z0-9_-]+$/.test(value);

export class TradeBook {
  private readonly trades = new Map<string, Trade>();
  private readonly ledger = new Map<string, { charged: bigint; refunded: bigint }>();
  private sequence = 0;

  constructor(private readonly now: () => string) {}

  get(out_trade_no: string): Trade | undefined {
    return this.trades.get(out_trade_no);
  }

  ledgerRows(): { out_trade_no: string; charged: number; refunded: number }[] {
    return [...this.ledger].map(([out_trade_no, row]) => ({ out_trade_no, charged: Number(row.charged), refunded: Number(row.refunded) }));
  }

  private book(out_trade_no: string, field: 'charged' | 'refunded', fen: bigint): void {
    let row = this.ledger.get(out_trade_no);
    if (row === undefined) {
      if (this.ledger.size >= alipaySandboxLimits.ledger_rows_max) throw new Error('alipay sandbox: ledger_rows_max reached');
      row = { charged: 0n, refunded: 0n };
      this.ledger.set(out_trade_no, row);
    }
    row[field] += fen;
  }

  private tradeNumber(): string {
    this.sequence += 1;
    const date = this.now().slice(0, 10).replaceAll('-', '');
    return `${date}2200${String(this.sequence).padStart(16, '0')}`; // 28 digits, as Alipay's trade_no
  }

  /** alipay.trade.precreate and alipay.trade.page.pay: a trade waiting for the buyer. Idempotent on out_trade_no. */
  create(biz: Readonly<Record<string, unknown>>, notify_url: string | null): { node: Node; trade: Trade | null } {
    const { out_trade_no, subject } = biz;
    const total_fen = parseYuan(biz['total_amount']);
    if (!validTradeNumber(out_trade_no, alipaySandboxLimits.out_trade_no_length_max)) return { node: businessError('ACQ.INVALID_PARAMETER', '参数无效: out_trade_no'), trade: null };
    if (total_fen === null || total_fen <= 0n || total_fen > alipaySandboxLimits.amount_fen_max) return { node: businessError('ACQ.INVALID_PARAMETER', '参数无效: total_amount'), trade: null };
    if (typeof subject !== 'string' || subject === '' || subject.length > alipaySandboxLimits.subject_length_max) return { node: businessError('ACQ.INVALID_PARAMETER', '参数无效: subject'), trade: null };
    const existing = this.trades.get(out_trade_no);
    if (existing !== undefined) {
      if (existing.total_fen !== total_fen) return { node: businessError('ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改'), trade: null };
      if (existing.status === 'TRADE_SUCCESS' || existing.status === 'TRADE_FINISHED') return { node: businessError('ACQ.TRADE_HAS_SUCCESS', '交易已被支付'), trade: null };
      if (existing.status === 'TRADE_CLOSED') return { node: businessError('ACQ.TRADE_HAS_CLOSE', '交易已经关闭'), trade: null };
      return { node: { ...ok(), out_trade_no, qr_code: existing.qr_code }, trade: existing };
    }
    if (this.trades.size >= alipaySandboxLimits.trades_max) {
      const oldest = this.trades.keys().next().value;
      if (oldest !== undefined) this.trades.delete(oldest);
    }
    const trade: Trade = {
      out_trade_no, trade_no: this.tradeNumber(), total_fen, subject, created_at: this.now(), notify_url,
      qr_code: `https://qr.alipay.com/bax0${randomBytes(10).toString('hex')}`,
      status: 'WAIT_BUYER_PAY', paid_at: null, refunded_fen: 0n, refunds: new Map(),
    };
    this.trades.set(out_trade_no, trade);
    return { node: { ...ok(), out_trade_no, qr_code: trade.qr_code }, trade };
  }

  /** The buyer paid: charged in the books. False when the trade cannot be paid (absent, closed, paid). */
  pay(out_trade_no: string): { ok: true; trade: Trade } | { ok: false; reason: string } {
    const trade = this.trades.get(out_trade_no);
    if (trade === undefined) return { ok: false, reason: 'trade_not_found' };
    if (trade.status !== 'WAIT_BUYER_PAY') return { ok: false, reason: `trade is ${trade.status}` };
    trade.status = 'TRADE_SUCCESS';
    trade.paid_at = this.now();
    this.book(out_trade_no, 'charged', trade.total_fen);
    return { ok: true, trade };
  }

  query(biz: Readonly<Record<string, unknown>>): Node {
    const trade = this.find(biz);
    if (trade === undefined) return businessError('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const node: Node = {
      ...ok(), trade_no: trade.trade_no, out_trade_no: trade.out_trade_no, trade_status: trade.status, total_amount: toYuan(trade.total_fen),
    };
    if (trade.paid_at !== null) {
      Object.assign(node, { buyer_logon_id: 'sbx***@sandbox.com', buyer_user_id: '2088102177846880', buyer_pay_amount: toYuan(trade.total_fen), receipt_amount: toYuan(trade.total_fen), invoice_amount: toYuan(trade.total_fen), point_amount: '0.00', send_pay_date: trade.paid_at });
    }
    return node;
  }

  close(biz: Readonly<Record<string, unknown>>): Node {
    const trade = this.find(biz);
    if (trade === undefined) return businessError('ACQ.TRADE_NOT_EXIST', '交易不存在');
    if (trade.status !== 'WAIT_BUYER_PAY') return businessError('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    trade.status = 'TRADE_CLOSED';
    return { ...ok(), trade_no: trade.trade_no, out_trade_no: trade.out_trade_no };
  }

  /** alipay.trade.refund: idempotent on out_request_no (a repeat answers fund_change N); a full refund closes the trade. */
  refund(biz: Readonly<Record<string, unknown>>): Node {
    const trade = this.find(biz);
    if (trade === undefined) return businessError('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const fen = parseYuan(biz['refund_amount']);
    if (fen === null || fen <= 0n) return businessError('ACQ.INVALID_PARAMETER', '参数无效: refund_amount');
    const out_request_no = biz['out_request_no'] ?? trade.out_trade_no;
    if (!validTradeNumber(out_request_no, alipaySandboxLimits.out_request_no_length_max)) return businessError('ACQ.INVALID_PARAMETER', '参数无效: out_request_no');
    const answer = (fund_change: 'Y' | 'N'): Node => ({
      ...ok(), trade_no: trade.trade_no, out_trade_no: trade.out_trade_no, buyer_logon_id: 'sbx***@sandbox.com', fund_change,
      refund_fee: toYuan(trade.refunded_fen), gmt_refund_pay: trade.refunds.get(out_request_no)?.at ?? this.now(), buyer_user_id: '2088102177846880',
    });
    const previous = trade.refunds.get(out_request_no);
    if (previous !== undefined) return previous.fen === fen ? answer('N') : businessError('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额与原退款请求不一致');
    if (trade.paid_at === null) return businessError('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    if (trade.status === 'TRADE_FINISHED') return businessError('ACQ.TRADE_HAS_FINISHED', '交易已完结');
    if (trade.refunded_fen + fen > trade.total_fen) return businessError('ACQ.REASON_TRADE_REFUND_FEE_ERR', '退款金额无效');
    if (trade.refunds.size >= alipaySandboxLimits.refunds_per_trade_max) return businessError('ACQ.REFUND_CHARGE_ERROR', '退款次数超限');
    trade.refunds.set(out_request_no, { fen, at: this.now() });
    trade.refunded_fen += fen;
    this.book(trade.out_trade_no, 'refunded', fen);
    if (trade.refunded_fen === trade.total_fen) trade.status = 'TRADE_CLOSED'; // paid, then refunded in full
    return answer('Y');
  }

  refundQuery(biz: Readonly<Record<string, unknown>>): Node {
    const trade = this.find(biz);
    if (trade === undefined) return businessError('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const out_request_no = typeof biz['out_request_no'] === 'string' ? biz['out_request_no'] : '';
    const refund = trade.refunds.get(out_request_no);
    if (refund === undefined) return ok(); // Alipay answers 10000 with no refund fields: no such refund
    return {
      ...ok(), trade_no: trade.trade_no, out_trade_no: trade.out_trade_no, out_request_no, total_amount: toYuan(trade.total_fen),
      refund_amount: toYuan(refund.fen), refund_status: 'REFUND_SUCCESS', gmt_refund_pay: refund.at,
    };
  }

  private find(biz: Readonly<Record<string, unknown>>): Trade | undefined {
    if (typeof biz['out_trade_no'] === 'string') return this.trades.get(biz['out_trade_no']);
    if (typeof biz['trade_no'] === 'string') return [...this.trades.values()].find((trade) => trade.trade_no === biz['trade_no']);
    return undefined;
  }
}
