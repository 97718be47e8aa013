// The chaos test's oracle, pure: Clearway's own rows (payments, attempts, orders, late-success
// refunds) against the sandboxes' own books (what each channel charged and refunded per
// out_trade_no). Returns every violation found, by name, plus what still needs the channel's
// word (payments not final: each must be provably waiting on its channel, checked by the caller).

export interface PaymentRecord {
  readonly id: string;
  readonly order_id: string;
  readonly status: string;
  readonly method: string;
  readonly channel: string | null;
  readonly amount: number;
  readonly amount_captured: number;
  /** Merchant refunds that succeeded (never late-success refunds, which are not part of the capture). */
  readonly amount_refunded: number;
}

export interface AttemptRecord {
  readonly id: string;
  readonly payment_id: string;
  readonly channel: string;
  readonly status: string;
  readonly out_trade_no: string;
  readonly amount: number;
}

export interface OrderRecord {
  readonly id: string;
  readonly status: string;
  readonly amount_total: number;
  readonly amount_refunded: number;
}

export interface RefundRecord {
  readonly id: string;
  readonly payment_id: string;
  readonly status: string;
  readonly amount: number;
}

export interface LateSuccessRefundRecord {
  readonly attempt_id: string;
  readonly channel: string;
  readonly status: string;
  readonly amount: number;
}

export interface LedgerRow {
  readonly out_trade_no: string;
  readonly charged: number;
  readonly refunded: number;
}

export interface Books {
  readonly payments: readonly PaymentRecord[];
  readonly attempts: readonly AttemptRecord[];
  readonly orders: readonly OrderRecord[];
  readonly lateSuccessRefunds: readonly LateSuccessRefundRecord[];
  /** Merchant refunds (POST /v1/payments/:id/refunds). */
  readonly refunds: readonly RefundRecord[];
  /** channel -> the sandbox's ledger. */
  readonly ledgers: ReadonlyMap<string, readonly LedgerRow[]>;
}

export interface Audit {
  readonly violations: string[];
  /** Payments not final, with their live attempt: the caller asks the channel whether they are provably waiting. */
  readonly waiting: { payment: PaymentRecord; attempt: AttemptRecord | null }[];
  /** Attempts whose money the channel took and gave back automatically (late successes). */
  readonly refundedLateSuccesses: number;
}

export const finalPaymentStatuses = new Set(['succeeded', 'failed', 'canceled']);
const finalAttemptStatuses = new Set(['succeeded', 'failed']);

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const list = groups.get(key(row));
    if (list) list.push(row);
    else groups.set(key(row), [row]);
  }
  return groups;
}

/** The sandboxes' books, by out_trade_no, checked row by row against the attempts they name. */
function auditLedgers(books: Books, attemptsByTradeNo: ReadonlyMap<string, AttemptRecord>, violations: string[]): Map<string, LedgerRow> {
  const byTradeNo = new Map<string, LedgerRow>();
  for (const [channel, rows] of books.ledgers) {
    for (const row of rows) {
      const attempt = attemptsByTradeNo.get(row.out_trade_no);
      if (byTradeNo.has(row.out_trade_no)) violations.push(`ledger: ${row.out_trade_no} appears in two books (or twice in ${channel}'s)`);
      byTradeNo.set(row.out_trade_no, row);
      if (!attempt) {
        violations.push(`ledger: ${channel} charged ${row.charged} on ${row.out_trade_no}, which is no attempt of ours`);
        continue;
      }
      if (attempt.channel !== channel) violations.push(`ledger: ${row.out_trade_no} of ${attempt.channel} appears in ${channel}'s book`);
      if (row.charged !== 0 && row.charged !== attempt.amount) violations.push(`ledger: ${channel} charged ${row.out_trade_no} ${row.charged}, the attempt is for ${attempt.amount} (charged twice?)`);
      if (row.refunded > row.charged) violations.push(`ledger: ${channel} refunded ${row.refunded} of ${row.charged} on ${row.out_trade_no}`);
      if (row.charged > 0 && attempt.status !== 'succeeded') violations.push(`money we do not know of: ${channel} charged ${row.out_trade_no} but its attempt is ${attempt.status}`);
    }
  }
  for (const attempt of books.attempts) {
    const row = byTradeNo.get(attempt.out_trade_no);
    if (attempt.status === 'succeeded' && (row?.charged ?? 0) !== attempt.amount) {
      violations.push(`attempt ${attempt.id} is succeeded but ${attempt.channel} charged ${row?.charged ?? 0} of ${attempt.amount}`);
    }
  }
  return byTradeNo;
}

/**
 * One payment's money: at most one attempt keeps money (the one it captured, less the merchant's
 * refunds that succeeded, which the channel made exactly once each); every other charge was given
 * back in full, automatically, by a late-success refund. Returns what the channels keep for it.
 */
function auditPayment(payment: PaymentRecord, attempts: readonly AttemptRecord[], refunds: readonly RefundRecord[], ledger: ReadonlyMap<string, LedgerRow>, lsrByAttempt: ReadonlyMap<string, LateSuccessRefundRecord>, violations: string[]): number {
  const charged = attempts.filter((a) => (ledger.get(a.out_trade_no)?.charged ?? 0) > 0);
  const lateOnes = charged.filter((a) => lsrByAttempt.has(a.id));
  const captured = charged.filter((a) => !lsrByAttempt.has(a.id));
  for (const attempt of lateOnes) {
    const row = ledger.get(attempt.out_trade_no)!;
    const lsr = lsrByAttempt.get(attempt.id)!;
    if (row.refunded !== row.charged) violations.push(`payment ${payment.id}: late success ${attempt.channel}/${attempt.out_trade_no} refunded ${row.refunded} of ${row.charged}`);
    if (lsr.status !== 'succeeded' || lsr.amount !== row.charged) violations.push(`payment ${payment.id}: late success ${attempt.out_trade_no} has a ${lsr.status} refund of ${lsr.amount}, the channel charged ${row.charged}`);
  }
  const succeededRefunds = refunds.filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + r.amount, 0);
  for (const refund of refunds) if (refund.status === 'pending') violations.push(`refund ${refund.id} of payment ${payment.id} is still pending`);
  if (succeededRefunds !== payment.amount_refunded) violations.push(`payment ${payment.id} has amount_refunded ${payment.amount_refunded}, its succeeded refunds add up to ${succeededRefunds}`);
  if (payment.status === 'succeeded') {
    const [capture] = captured;
    if (captured.length !== 1 || !capture) {
      violations.push(`payment ${payment.id} succeeded and was charged on ${captured.length} attempts without a late-success refund: ${captured.map((a) => `${a.channel}/${a.out_trade_no}`).join(', ')}`);
    } else {
      const row = ledger.get(capture.out_trade_no)!;
      if (capture.channel !== payment.channel) violations.push(`payment ${payment.id} succeeded on ${payment.channel} but the money is on ${capture.channel}`);
      if (row.charged !== payment.amount) violations.push(`payment ${payment.id} succeeded for ${payment.amount}, ${capture.channel} charged ${row.charged}`);
      if (row.refunded !== payment.amount_refunded) violations.push(`payment ${payment.id} refunded ${payment.amount_refunded} to the merchant's customer, ${capture.channel} refunded ${row.refunded}`);
    }
    if (payment.amount_captured !== payment.amount) violations.push(`payment ${payment.id} succeeded with amount_captured ${payment.amount_captured} of ${payment.amount}`);
  } else {
    for (const attempt of captured) violations.push(`payment ${payment.id} is ${payment.status} but ${attempt.channel} charged ${attempt.out_trade_no} with no late-success refund`);
    if (refunds.length > 0) violations.push(`payment ${payment.id} is ${payment.status} and has refunds`);
  }
  return charged.reduce((sum, a) => sum + ledger.get(a.out_trade_no)!.charged - ledger.get(a.out_trade_no)!.refunded, 0);
}

/** An order is paid exactly when one of its payments succeeded, and then it was charged once, net. */
function auditOrder(order: OrderRecord, payments: readonly PaymentRecord[], netCharged: number, violations: string[]): void {
  const succeeded = payments.filter((p) => p.status === 'succeeded');
  const live = payments.filter((p) => !finalPaymentStatuses.has(p.status));
  if (succeeded.length > 1) violations.push(`order ${order.id} has ${succeeded.length} succeeded payments`);
  if ((order.status === 'paid') !== (succeeded.length === 1)) violations.push(`order ${order.id} is ${order.status} with ${succeeded.length} succeeded payment(s)`);
  if (live.length > 1) violations.push(`order ${order.id} has ${live.length} live payments`);
  if (succeeded.length === 0 && order.status !== (live.length === 1 ? 'paying' : 'pending_payment')) {
    violations.push(`order ${order.id} is ${order.status} with ${live.length} live payment(s) and none succeeded`);
  }
  const refunded = succeeded[0]?.amount_refunded ?? 0;
  if (order.amount_refunded !== refunded) violations.push(`order ${order.id} has amount_refunded ${order.amount_refunded}, its payment ${refunded}`);
  const owed = order.status === 'paid' ? order.amount_total - refunded : 0;
  if (netCharged !== owed) violations.push(`order ${order.id} (${order.status}, ${order.amount_total}) has ${netCharged} kept by the channels`);
}

export function auditBooks(books: Books): Audit {
  const violations: string[] = [];
  const attemptsByTradeNo = new Map(books.attempts.map((a) => [a.out_trade_no, a]));
  if (attemptsByTradeNo.size !== books.attempts.length) violations.push('two attempts share an out_trade_no');
  const ledger = auditLedgers(books, attemptsByTradeNo, violations);
  const lsrByAttempt = new Map(books.lateSuccessRefunds.map((r) => [r.attempt_id, r]));
  for (const lsr of books.lateSuccessRefunds) {
    if (lsr.status !== 'succeeded') violations.push(`late-success refund of attempt ${lsr.attempt_id} on ${lsr.channel} is ${lsr.status}`);
  }
  const attemptsByPayment = groupBy(books.attempts, (a) => a.payment_id);
  const refundsByPayment = groupBy(books.refunds, (r) => r.payment_id);
  const waiting: Audit['waiting'] = [];
  const netByOrder = new Map<string, number>();
  for (const payment of books.payments) {
    const attempts = attemptsByPayment.get(payment.id) ?? [];
    const net = auditPayment(payment, attempts, refundsByPayment.get(payment.id) ?? [], ledger, lsrByAttempt, violations);
    netByOrder.set(payment.order_id, (netByOrder.get(payment.order_id) ?? 0) + net);
    if (!finalPaymentStatuses.has(payment.status)) {
      const live = attempts.filter((a) => !finalAttemptStatuses.has(a.status));
      if (live.length > 1) violations.push(`payment ${payment.id} has ${live.length} live attempts`);
      waiting.push({ payment, attempt: live[0] ?? null });
    }
  }
  const paymentsByOrder = groupBy(books.payments, (p) => p.order_id);
  for (const order of books.orders) auditOrder(order, paymentsByOrder.get(order.id) ?? [], netByOrder.get(order.id) ?? 0, violations);
  const refundedLateSuccesses = books.lateSuccessRefunds.filter((r) => r.status === 'succeeded').length;
  return { violations, waiting, refundedLateSuccesses };
}
