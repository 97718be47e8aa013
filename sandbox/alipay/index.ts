// The simulated Alipay gateway: see sandbox.ts for the factory and the order of a request.
export { createAlipaySandbox, type AlipayCredentials, type AlipaySandbox, type AlipaySandboxOptions } from './sandbox.ts';
export { alipaySandboxLimits } from './limits.ts';
export type { NotificationStats as NotifyStats } from '../shared/notification-sender.ts';
