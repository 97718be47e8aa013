// Channel accounts at the real providers, from a JSON file (CLEARWAY_CHANNELS_FILE): each entry is
// one account (DESIGN.md "Words we use": a channel), with its provider, base URL, credentials, the
// currencies and amounts it takes, what it charges us, and whether it authenticates payers
// strongly. The file is read once at start and refused whole, with the offending field named, when
// anything in it is wrong: a payment platform must not start with half its channels.
//
// A credential may be written inline, or as `env:NAME` (read from the environment) or
// `file:/path` (read from a file, e.g. a PEM key), so the file itself can be kept free of secrets.
// The format is documented in docs/channels.md, "Accounts at the real providers".
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { isSupportedCurrency } from '../kernel/currency.ts';
import { feeBpsMax, feeSchedule } from '../kernel/fees.ts';
import { limits } from '../kernel/limits.ts';
import type { ChannelConfig } from './registry.ts';

const channelIdPattern = '^[a-z][a-z0-9_]{0,31}$';

const common = {
  id: { type: 'string', pattern: channelIdPattern },
  currencies: { type: 'array', minItems: 1, maxItems: 50, uniqueItems: true, items: { type: 'string', pattern: '^[A-Z]{3}$' } },
  amount_min: { type: 'integer', minimum: 1 },
  amount_max: { type: 'integer', minimum: 1, maximum: Number(limits.amount_minor_max) },
  fees: {
    type: 'object',
    required: ['percent_bps', 'fixed'],
    additionalProperties: false,
    properties: { percent_bps: { type: 'integer', minimum: 0, maximum: feeBpsMax }, fixed: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
  },
  strong_customer_authentication: { type: 'boolean' },
} as const;

const secret = { type: 'string', minLength: 1, maxLength: 20_000 } as const;
const url = { type: 'string', pattern: '^https?://' } as const;

const accountSchemas = [
  {
    type: 'object',
    required: ['id', 'provider', 'base_url', 'secret_key', 'webhook_secret', 'fees'],
    additionalProperties: false,
    properties: { ...common, provider: { const: 'stripe' }, base_url: url, secret_key: secret, webhook_secret: secret },
  },
  {
    type: 'object',
    required: ['id', 'provider', 'gateway_url', 'app_id', 'app_private_key', 'alipay_public_key', 'fees'],
    additionalProperties: false,
    properties: { ...common, provider: { const: 'alipay' }, gateway_url: url, app_id: { type: 'string', pattern: '^[0-9]{1,32}$' }, app_private_key: secret, alipay_public_key: secret },
  },
  {
    type: 'object',
    required: ['id', 'provider', 'base_url', 'mchid', 'appid', 'merchant_serial_no', 'merchant_private_key', 'api_v3_key', 'platform_public_key', 'platform_serial_no', 'fees'],
    additionalProperties: false,
    properties: {
      ...common, provider: { const: 'wechat_pay' }, base_url: url, mchid: { type: 'string', minLength: 1, maxLength: 32 }, appid: { type: 'string', minLength: 1, maxLength: 32 },
      merchant_serial_no: { type: 'string', minLength: 1, maxLength: 64 }, merchant_private_key: secret, api_v3_key: secret, platform_public_key: secret,
      platform_serial_no: { type: 'string', minLength: 1, maxLength: 64 },
    },
  },
] as const;

const fileSchema = {
  type: 'object',
  required: ['channels'],
  additionalProperties: false,
  properties: { channels: { type: 'array', minItems: 1, maxItems: limits.channels_configured_max, items: { oneOf: accountSchemas } } },
} as const;

interface Common {
  readonly id: string;
  readonly currencies?: string[];
  readonly amount_min?: number;
  readonly amount_max?: number;
  readonly fees: { percent_bps: number; fixed: number };
  readonly strong_customer_authentication?: boolean;
}

export type StripeAccount = Common & { readonly provider: 'stripe'; readonly base_url: string; readonly secret_key: string; readonly webhook_secret: string };
export type AlipayAccount = Common & { readonly provider: 'alipay'; readonly gateway_url: string; readonly app_id: string; readonly app_private_key: string; readonly alipay_public_key: string };
export type WechatPayAccount = Common & {
  readonly provider: 'wechat_pay'; readonly base_url: string; readonly mchid: string; readonly appid: string; readonly merchant_serial_no: string;
  readonly merchant_private_key: string; readonly api_v3_key: string; readonly platform_public_key: string; readonly platform_serial_no: string;
};
export type ChannelAccount = StripeAccount | AlipayAccount | WechatPayAccount;

const validate = new Ajv({ allErrors: false, strict: false }).compile(fileSchema);

const secretFields = ['secret_key', 'webhook_secret', 'app_private_key', 'alipay_public_key', 'merchant_private_key', 'api_v3_key', 'platform_public_key'] as const;

/** `env:NAME` and `file:/path` resolved; anything else is the value itself. */
function resolveSecret(value: string, where: string, env: NodeJS.ProcessEnv): string {
  if (value.startsWith('env:')) {
    const resolved = env[value.slice(4)];
    if (!resolved) throw new Error(`${where}: environment variable ${value.slice(4)} is not set`);
    return resolved;
  }
  if (value.startsWith('file:')) {
    try {
      return readFileSync(value.slice(5), 'utf8');
    } catch (error) {
      throw new Error(`${where}: cannot read ${value.slice(5)} (${(error as Error).message})`);
    }
  }
  return value;
}

/** Parses and checks a channels file's text; throws naming the first wrong field. */
export function parseChannelAccounts(text: string, source: string, env: NodeJS.ProcessEnv): ChannelAccount[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not JSON (${(error as Error).message})`);
  }
  if (!validate(parsed)) {
    const error = validate.errors?.[0];
    throw new Error(`${source}: ${error?.instancePath || '/'} ${error?.message ?? 'is invalid'}`);
  }
  const accounts = (parsed as { channels: ChannelAccount[] }).channels;
  const seen = new Set<string>();
  return accounts.map((account, index) => {
    const where = `${source}: /channels/${index}`;
    if (seen.has(account.id)) throw new Error(`${where}/id: channel ${account.id} is configured twice`);
    seen.add(account.id);
    for (const currency of account.currencies ?? []) if (!isSupportedCurrency(currency)) throw new Error(`${where}/currencies: ${currency} is not supported`);
    if ((account.amount_min ?? 1) > (account.amount_max ?? Number(limits.amount_minor_max))) throw new Error(`${where}: amount_min is above amount_max`);
    const resolved: Record<string, unknown> = { ...account };
    for (const field of secretFields) {
      const value = resolved[field];
      if (typeof value === 'string') resolved[field] = resolveSecret(value, `${where}/${field}`, env);
    }
    return resolved as unknown as ChannelAccount;
  });
}

export function readChannelAccounts(path: string, env: NodeJS.ProcessEnv): ChannelAccount[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`CLEARWAY_CHANNELS_FILE: cannot read ${path} (${(error as Error).message})`);
  }
  return parseChannelAccounts(text, path, env);
}

const defaultCurrencies: Readonly<Record<ChannelAccount['provider'], readonly string[]>> = {
  stripe: ['USD', 'EUR', 'GBP', 'CNY', 'HKD', 'SGD', 'JPY', 'AUD', 'CAD', 'CHF'],
  alipay: ['CNY'],
  wechat_pay: ['CNY'],
};

/** What routing knows of an account: its capability manifest. */
export function channelConfigOf(account: ChannelAccount): ChannelConfig {
  const method = account.provider === 'stripe' ? 'card' : account.provider;
  return {
    id: account.id,
    provider: account.provider,
    methods: [method],
    currencies: account.currencies ?? defaultCurrencies[account.provider],
    amount_min: BigInt(account.amount_min ?? (account.provider === 'stripe' ? 50 : 1)),
    amount_max: BigInt(account.amount_max ?? limits.amount_minor_max),
    fees: feeSchedule(account.fees.percent_bps, BigInt(account.fees.fixed)),
    strong_customer_authentication: account.strong_customer_authentication ?? account.provider !== 'stripe',
  };
}
