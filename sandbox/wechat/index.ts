// The simulated WeChat Pay (API v3): see sandbox.ts for the factory, routes.ts for the request pipeline.
export { createWechatPaySandbox, type WechatPayCredentials, type WechatPaySandbox, type WechatPaySandboxOptions } from './sandbox.ts';
export { wechatSandboxLimits } from './limits.ts';
export type { NotificationStats as NotifyStats } from '../shared/notification-sender.ts';
