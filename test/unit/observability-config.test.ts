import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';

const base = {
  storage: { primary: { type: 'filesystem', path: '/tmp/lb' } },
  databases: { orders: { engine: 'postgres', url: { env: 'ORDERS_URL' } } },
};

function problems(raw: Record<string, unknown>): string[] {
  try {
    parseConfig({ ...base, ...raw }, 'lifeboat.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the configuration to be rejected');
}

test('observability, notifications and health bounds are optional; defaults apply', () => {
  const cfg = parseConfig({ ...base, observability: {}, databases: { orders: { ...base.databases.orders, rpo: '26h', sizeDropAlert: '-30%' } } });
  expect(cfg.observability).toEqual({ enabled: true, port: 9464, bind: '127.0.0.1', sdkMetrics: true, cacheTtl: '30s' });
  expect(cfg.databases.orders).toMatchObject({ rpo: '26h', sizeDropAlert: -0.3 });
  expect(parseConfig(base).observability).toBeUndefined();
});

test.each([
  [{ observability: { port: 70000 } }, 'observability.port: expected a TCP port from 0 to 65535 (0: any free port)'],
  [{ observability: { token: 'inline-token' } }, 'observability.token: expected { env: NAME } or { file: PATH }'],
  [{ observability: { cacheTtl: 'soon' } }, 'observability.cacheTtl: expected a duration of at least 1s, such as "30s"'],
  [{ databases: { orders: { ...base.databases.orders, rpo: 'daily' } } }, 'databases.orders.rpo: expected a duration such as "26h"'],
  [
    { databases: { orders: { ...base.databases.orders, sizeDropAlert: '50%' } } },
    'databases.orders.sizeDropAlert: expected a negative percentage such as "-50%", or false to turn the check off',
  ],
  [
    { notifications: { channels: { team: { type: 'slack', webhook: 'https://hooks.slack.com/services/T/B/X' } } } },
    'notifications.channels.team.webhook: expected { env: NAME } or { file: PATH }',
  ],
  [{ notifications: { channels: { pager: { type: 'sms' } } } }, 'notifications.channels.pager.type: expected type "webhook", "slack" or "email"'],
  [
    { notifications: { channels: { mail: { type: 'email', host: 'smtp', from: 'lb@example.com', to: [], security: 'none' } } } },
    'notifications.channels.mail.security: expected "starttls" or "tls"',
  ],
  [{ notifications: { channels: {}, routes: [{ channels: ['oncall'] }] } }, 'notifications.routes.0.channels.0: unknown channel "oncall" (defined: none)'],
  [
    { notifications: { channels: { hook: { type: 'webhook', url: 'http://x' } }, routes: [{ databases: ['billing'], channels: ['hook'] }] } },
    'notifications.routes.0.databases.0: unknown database "billing" (configured: orders)',
  ],
  [
    { notifications: { channels: { hook: { type: 'webhook', url: 'http://x' } }, routes: [{ events: ['exploded'], channels: ['hook'] }] } },
    'notifications.routes.0.events.0: expected one of backup-failed, verify-failed, stale, size-anomaly, approval-needed, runbook-finished, recovery',
  ],
])('%j is refused: %s', (raw, message) => {
  expect(problems(raw)).toContain(message);
});

test('the example configuration documents observability, notifications and health bounds, and is valid', () => {
  const cfg = loadConfig(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lifeboat.example.yaml'));
  expect(cfg.observability).toMatchObject({ port: 9464, bind: '127.0.0.1' });
  expect(Object.keys(cfg.notifications!.channels)).toEqual(['oncall', 'team', 'dba']);
  expect(cfg.notifications!.routes[0]).toMatchObject({ databases: ['orders'], channels: ['oncall', 'dba'] });
});
