/**
 * The notification address guard: private and reserved destinations are refused before any
 * connection is made, unless private addresses are allowed (the sandbox default).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isPrivateAddress, refusedDestination } from '../../src/notify/address-guard.js';
import { tryOnce } from '../../src/notify/delivery.worker.js';
import type { DeliveryKind, DeliveryRow } from '../../src/notify/index.js';
import { loadConfig } from '../../src/platform/index.js';
import { startReceiver, type Receiver } from './receiver.js';

let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  await receiver?.close();
});

test('addresses: loopback, private, link-local, shared, multicast, reserved and mapped forms are private; public ones are not', () => {
  for (const address of ['127.0.0.1', '127.8.9.10', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', 'not-an-address']) {
    assert.equal(isPrivateAddress(address), true, address);
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:808:808']) {
    assert.equal(isPrivateAddress(address), false, address);
  }
});

test('destinations: literal and resolved private hosts are refused; public literals and unknown names are left to the try', async () => {
  assert.match((await refusedDestination('http://127.0.0.1:9/notify'))!, /refused: 127\.0\.0\.1 is a private or reserved address/);
  assert.match((await refusedDestination('http://localhost:9/notify'))!, /refused: localhost .*\((127\.0\.0\.1|::1)\)/);
  assert.match((await refusedDestination('http://[::ffff:127.0.0.1]/'))!, /refused/);
  assert.match((await refusedDestination('http://169.254.169.254/latest/meta-data'))!, /refused/);
  assert.equal(await refusedDestination('https://8.8.8.8/notify'), undefined);
  assert.equal(await refusedDestination('https://no-such-host.invalid/notify'), undefined);
});

test('a try to a private receiver is refused without a request unless allowed; the default follows the sandbox', async () => {
  const kind: DeliveryKind = {
    name: 'test',
    scheduleMs: [1_000],
    timeoutMs: 2_000,
    prepare: async (delivery) => ({ headers: { 'content-type': 'application/json' }, body: delivery.body }),
    acknowledged: (status) => status >= 200 && status < 300,
  };
  const row = { id: 'd1', client_id: 'c1', url: `${receiver.url}/guarded`, body: '{"ok":true}' } as unknown as DeliveryRow;
  const refused = await tryOnce(kind, row, new Date(), false);
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.error, /private or reserved address/);
  assert.equal(receiver.received.filter((r) => r.path === '/guarded').length, 0);
  const allowed = await tryOnce(kind, row, new Date(), true);
  assert.deepEqual(allowed, { ok: true, httpStatus: 200 });
  assert.equal(receiver.received.filter((r) => r.path === '/guarded').length, 1);

  assert.equal(loadConfig({}).notifyPrivateAddresses, true);
  assert.equal(loadConfig({ PAYCORE_SANDBOX: 'off' }).notifyPrivateAddresses, false);
  assert.equal(loadConfig({ PAYCORE_SANDBOX: 'off', PAYCORE_NOTIFY_PRIVATE_ADDRESSES: 'on' }).notifyPrivateAddresses, true);
});
