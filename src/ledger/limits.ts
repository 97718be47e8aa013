// Ledger limits: every list and every split has a named maximum. `checkLedgerLimits` runs in the
// ledger's tests (and may run at start-up once the lead wires it).

export const ledgerLimits = Object.freeze({
  /** Postings in one journal entry. */
  entry_postings_max: 64,
  /** Slots (physical rows) one logical account may be split into; the schema allows < 256. */
  account_slots_max: 64,
  /** Slots of the platform's fee_revenue account per currency (the hottest row of the ledger). */
  fee_revenue_slots: 16,
  /** Slots of each channel's channel_receivable per currency (every capture on the channel touches it). */
  channel_receivable_slots: 16,
  /**
   * Slots of each merchant's merchant_pending per currency (every capture and refund of the
   * merchant touches it). Four, not sixteen: settlement's queries join postings to ledger_accounts,
   * and with sixteen rows per merchant their plan turned slow (100 merchants' 1,000,000
   * transactions settled in 11.4-11.9 s instead of 9.4 s; docs/benchmarks.md).
   */
  merchant_pending_slots: 4,
  /** Entries posted by one call of postEntries (one transaction). */
  entries_per_batch_max: 1_000,
  /** Length of an event id (the business event an entry records). */
  event_id_length_max: 255,
  /** Length of an account owner (merchant, channel or bank id). */
  account_owner_length_max: 200,
  /** Account ids a process remembers as existing (ensureAccountsOnce); past it, it forgets them all. */
  known_accounts_cached_max: 100_000,
  /** Problems listed in one check's detail (the count is always exact). */
  check_detail_rows_max: 20,
});

export function checkLedgerLimits(l = ledgerLimits): void {
  if (l.entry_postings_max < 2) throw new Error('ledger limits: entry_postings_max must be >= 2');
  if (l.account_slots_max < 1 || l.account_slots_max > 255) throw new Error('ledger limits: account_slots_max must be 1..255');
  for (const [name, slots] of [['fee_revenue_slots', l.fee_revenue_slots], ['channel_receivable_slots', l.channel_receivable_slots], ['merchant_pending_slots', l.merchant_pending_slots]] as const) {
    if (slots < 1 || slots > l.account_slots_max) throw new Error(`ledger limits: ${name} must be 1..account_slots_max`);
  }
}
