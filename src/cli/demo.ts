// `clearway demo`: starts Clearway in memory with the sandboxes, pays one order end to end
// through real HTTP, prints each step, and stops.
import { loadConfig } from '../config.ts';
import { ensureDemoMerchant, startApp } from '../app.ts';

async function call(url: string, key: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await response.json();
  process.stdout.write(`${method} ${path} -> ${response.status}\n${JSON.stringify(json, null, 2)}\n\n`);
  return json;
}

export async function runDemo(): Promise<void> {
  const config = { ...loadConfig({ ...process.env, CLEARWAY_DATA_DIR: 'memory', PORT: '0', LOG_LEVEL: 'warn' }) };
  const app = await startApp({ config });
  try {
    const demo = await ensureDemoMerchant(app.ctx.db, app.ctx.clock.now());
    const url = app.url!;
    await call(url, demo.apiKey, 'POST', '/v1/coupons', { code: 'WELCOME10', percent_off: 10 });
    const order = await call(url, demo.apiKey, 'POST', '/v1/orders', {
      currency: 'USD',
      items: [{ name: 'T-shirt', unit_amount: 1999, quantity: 2 }, { name: 'Socks', unit_amount: 499, quantity: 3 }],
      coupon_codes: ['WELCOME10'],
    });
    const payment = await call(url, demo.apiKey, 'POST', '/v1/payments', { order_id: order.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } });
    await call(url, demo.apiKey, 'POST', `/v1/payments/${payment.id}/refunds`, { amount: 500 });
    await call(url, demo.apiKey, 'GET', `/v1/orders/${order.id}`);
  } finally {
    await app.close();
  }
}
