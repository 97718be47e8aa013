// The simulated JSON-API bank: see sandbox.ts.
export { bankSignatureHeader, createBankApiSandbox, type BankApiSandboxOptions } from './sandbox.ts';
