import type { Queryable } from '../db/database.ts';
import { ClearwayError } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import { isUniqueViolation } from '../db/database.ts';
import type { PricingCoupon } from './domain/pricing.ts';

export interface CouponRow {
  id: string;
  merchant_id: string;
  code: string;
  kind: 'percent_off' | 'amount_off';
  percent_off_bps: bigint | null;
  amount_off: bigint | null;
  currency: string | null;
  min_subtotal: bigint | null;
  max_redemptions: number | null;
  times_redeemed: number;
  valid_from: Date | null;
  valid_until: Date | null;
  stackable: boolean;
  created_at: Date;
}

/** A coupon as the merchant defines it; the rest of a row is ours. */
export type NewCoupon = Omit<CouponRow, 'id' | 'merchant_id' | 'times_redeemed' | 'created_at'>;

export async function insertCoupon(db: Queryable, merchantId: string, coupon: NewCoupon, now: Date): Promise<CouponRow> {
  const id = newId('coupon');
  try {
    const { rows } = await db.query<CouponRow>(
      `INSERT INTO coupons (id, merchant_id, code, kind, percent_off_bps, amount_off, currency, min_subtotal,
         max_redemptions, valid_from, valid_until, stackable, created_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING *`,
      [id, merchantId, coupon.code, coupon.kind, coupon.percent_off_bps, coupon.amount_off, coupon.currency, coupon.min_subtotal,
        coupon.max_redemptions, coupon.valid_from, coupon.valid_until, coupon.stackable, now],
    );
    return rows[0]!;
  } catch (error) {
    if (isUniqueViolation(error)) throw new ClearwayError('coupon_code_taken', `A coupon with code ${coupon.code} exists.`, { param: 'code' });
    throw error;
  }
}

/** Loads the coupons named by codes, in the order given; an unknown code is a 400 naming it. */
export async function couponsByCodes(db: Queryable, merchantId: string, codes: readonly string[]): Promise<CouponRow[]> {
  if (codes.length === 0) return [];
  const { rows } = await db.query<CouponRow>('SELECT * FROM coupons WHERE merchant_id = $1 AND code = ANY($2::text[])', [merchantId, codes]);
  return codes.map((code, index) => {
    const row = rows.find((r) => r.code === code);
    if (!row) throw new ClearwayError('coupon_not_found', `No coupon with code ${code}.`, { param: `coupon_codes[${index}]` });
    return row;
  });
}

export function toPricingCoupon(row: CouponRow): PricingCoupon {
  return {
    id: row.id,
    code: row.code,
    kind: row.kind,
    ...(row.percent_off_bps === null ? {} : { percent_off_bps: row.percent_off_bps }),
    ...(row.amount_off === null ? {} : { amount_off: row.amount_off }),
    currency: row.currency,
    min_subtotal: row.min_subtotal,
    valid_from: row.valid_from,
    valid_until: row.valid_until,
    stackable: row.stackable,
  };
}

/**
 * Takes one redemption of each coupon, atomically: the row lock makes two concurrent orders
 * queue on the coupon, and the second one finds the limit reached.
 */
export async function redeemCoupons(tx: Queryable, orderId: string, couponIds: readonly string[], params: readonly string[]): Promise<void> {
  for (const [index, couponId] of couponIds.entries()) {
    const result = await tx.query(
      `UPDATE coupons SET times_redeemed = times_redeemed + 1
       WHERE id = $1 AND (max_redemptions IS NULL OR times_redeemed < max_redemptions)`,
      [couponId],
    );
    if (result.rowCount !== 1) throw new ClearwayError('coupon_exhausted', 'The coupon has no redemptions left.', { param: params[index] ?? 'coupon_codes' });
    await tx.query('INSERT INTO coupon_redemptions (coupon_id, order_id) VALUES ($1, $2)', [couponId, orderId]);
  }
}

/** Gives the redemptions of a cancelled order back to its coupons. */
export async function releaseCoupons(tx: Queryable, orderId: string): Promise<void> {
  const { rows } = await tx.query<{ coupon_id: string }>(
    'UPDATE coupon_redemptions SET released = true WHERE order_id = $1 AND released = false RETURNING coupon_id',
    [orderId],
  );
  for (const row of rows) {
    await tx.query('UPDATE coupons SET times_redeemed = times_redeemed - 1 WHERE id = $1', [row.coupon_id]);
  }
}
