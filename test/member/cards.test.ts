/**
 * Card binding over HTTP against the real simulated banks (two `paycore bank-sim` processes, via
 * the channel gateway): sign → SMS code → verify → an active card with the gateway's agreement;
 * wrong code, unsupported and invalid cards, client isolation; the number is never stored nor shown.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/platform/index.js';
import type { MemberDB } from '../../src/member/index.js';
import { startHarness, type Harness } from '../channel/channel-harness.js';
import { assertLedgerCheck, call, createMember } from './member-support.js';

let h: Harness;
let a: { id: string; apiKey: string };
let b: { id: string; apiKey: string };

before(async () => {
  h = await startHarness('membercards');
  a = await h.platform.newClient('client-a');
  b = await h.platform.newClient('client-b');
});
after(async () => {
  if (h) await assertLedgerCheck(h.platform);
  await h?.close();
});

async function sms(key: string, phone: string): Promise<string> {
  const reply = await call(h.platform, key, 'GET', `/v1/sandbox/sms?phone=${phone}`);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.code as string;
}

for (const [bank, cardNo, phone] of [
  ['alpha', '6222000055550000', '13900000101'],
  ['beta', '6217000055550000', '13900000102'],
] as const) {
  test(`a card at ${bank}: bound with the SMS code, active, usable by its agreement; the number is kept nowhere`, async () => {
    const m = await createMember(h.platform, a.apiKey);
    const signed = await call(h.platform, a.apiKey, 'POST', `/v1/members/${m.id}/cards`, { card_no: cardNo, holder_name: 'Li Lei', phone });
    assert.equal(signed.status, 201, JSON.stringify(signed.body));
    assert.equal(signed.body.bank, bank);
    assert.equal(signed.body.last4, '0000');
    assert.equal(signed.body.status, 'pending_verification');
    assert.ok(!JSON.stringify(signed.body).includes(cardNo));
    const cardId = signed.body.id as string;
    assert.equal(await h.platform.runtime.members.getActiveCard(m.id, cardId), undefined, 'pending is not active');
    const code = await sms(a.apiKey, phone);
    const wrong = await call(h.platform, a.apiKey, 'POST', `/v1/cards/${cardId}/verify`, { sms_code: code === '000000' ? '111111' : '000000' });
    assert.equal(wrong.status, 422);
    assert.equal(wrong.body.error.code, 'SMS_CODE_WRONG');
    assert.equal((await call(h.platform, b.apiKey, 'POST', `/v1/cards/${cardId}/verify`, { sms_code: code })).status, 404, 'another client');
    const verified = await call(h.platform, a.apiKey, 'POST', `/v1/cards/${cardId}/verify`, { sms_code: code });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.status, 'active');
    assert.equal(verified.body.id, cardId);
    const again = await call(h.platform, a.apiKey, 'POST', `/v1/cards/${cardId}/verify`, { sms_code: '999999' });
    assert.equal(again.status, 200, 'verifying an active card again is idempotent');
    const card = await h.platform.runtime.members.getActiveCard(m.id, cardId);
    assert.ok(card);
    assert.equal(card.status, 'active');
    const agreement = await h.platform.runtime.channel.getAgreement(card.agreement);
    assert.equal(agreement?.status, 'active');
    assert.equal(agreement?.bank, bank);
    assert.equal(await h.platform.runtime.members.getActiveCard(m.id, newId()), undefined);
    assert.equal(await h.platform.runtime.members.getActiveCard(newId(), cardId), undefined, 'another member');
    const rows = await h.platform.databases.get<MemberDB>('member').selectFrom('member.card').selectAll().where('id', '=', cardId).execute();
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.card_hash, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(rows).includes(cardNo), 'no member row holds the card number');
    const events = await h.platform.databases.get<any>('member').selectFrom('member.outbox').select(['type', 'payload']).where('key', '=', m.id).execute();
    assert.ok(events.some((e: any) => e.type === 'member.card_bound' && e.payload.card_id === cardId));
  });
}

test('unsupported, malformed and another client’s member’s cards are refused with their codes', async () => {
  const m = await createMember(h.platform, a.apiKey);
  const unsupported = await call(h.platform, a.apiKey, 'POST', `/v1/members/${m.id}/cards`, { card_no: '4111111111111111', holder_name: 'X', phone: '13900000103' });
  assert.equal(unsupported.status, 422);
  assert.equal(unsupported.body.error.code, 'CARD_NOT_SUPPORTED');
  const short = await call(h.platform, a.apiKey, 'POST', `/v1/members/${m.id}/cards`, { card_no: '6222000055550', holder_name: 'X', phone: '13900000103' });
  assert.equal(short.status, 400);
  assert.equal(short.body.error.code, 'CARD_INVALID');
  for (const body of [{ card_no: '6222-0000', holder_name: 'X', phone: '13900000103' }, { card_no: '6222000055550000', holder_name: 'X' }, { card_no: '6222000055550000', holder_name: 'X', phone: '13900000103', cvv: '123' }]) {
    const reply = await call(h.platform, a.apiKey, 'POST', `/v1/members/${m.id}/cards`, body);
    assert.equal(reply.status, 400);
    assert.equal(reply.body.error.code, 'INVALID_REQUEST');
  }
  const isolated = await call(h.platform, b.apiKey, 'POST', `/v1/members/${m.id}/cards`, { card_no: '6222000055550000', holder_name: 'X', phone: '13900000104' });
  assert.equal(isolated.status, 404);
  const badCode = await call(h.platform, a.apiKey, 'POST', `/v1/cards/${m.id}/verify`, { sms_code: '12a456' });
  assert.equal(badCode.status, 400);
  const rows = await h.platform.databases.get<MemberDB>('member').selectFrom('member.card').selectAll().where('member_id', '=', m.id).execute();
  assert.deepEqual(rows, [], 'no card row for any refusal');
});
