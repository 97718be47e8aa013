// The simulated file-exchange bank: see sandbox.ts (the exchange) and pain001.ts (the payment file).
export { createBankFileSandbox, statusFileHeader, type BankFileSandboxOptions } from './sandbox.ts';
export { readPaymentFile, type FileTransaction, type PaymentFile } from './pain001.ts';
