/** HTTP routes of members, accounts, cards, payment passwords and payment codes (API.md "Members, accounts, cards"). */
import { strict as assert } from 'node:assert';
import type { FastifyPluginAsync } from 'fastify';
import { idParamsSchema, listQuerySchema, listLimit, outNoSchema } from '../http/index.js';
import type { Ledger } from '../ledger/index.js';
import { AppError, type ErrorCode } from '../platform/index.js';
import type { VerifyCardRefusal } from './card.service.js';
import type { Card, Member } from './member.js';
import type { MemberService } from './member.service.js';
import type { MemberAccountRow } from './member.table.js';

type IdParams = { Params: { id: string } };

const createMemberBody = {
  type: 'object',
  required: ['type', 'name'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['personal', 'merchant'] },
    name: { type: 'string', minLength: 1, maxLength: 128 },
    external_id: outNoSchema,
  },
} as const;

const bindCardBody = {
  type: 'object',
  required: ['card_no', 'holder_name', 'phone'],
  additionalProperties: false,
  properties: {
    card_no: { type: 'string', pattern: '^[0-9]{12,19}$' },
    holder_name: { type: 'string', minLength: 1, maxLength: 64 },
    phone: { type: 'string', pattern: '^\\+?[0-9]{6,20}$' },
  },
} as const;

const verifyCardBody = { type: 'object', required: ['sms_code'], additionalProperties: false, properties: { sms_code: { type: 'string', pattern: '^[0-9]{4,8}$' } } } as const;
const passwordBody = { type: 'object', required: ['password'], additionalProperties: false, properties: { password: { type: 'string', minLength: 6, maxLength: 64 } } } as const;
/** The payment-code request carries nothing; an empty object (or no body) only. */
const emptyBody = { type: ['object', 'null'], additionalProperties: false, properties: {} } as const;
const entriesQuery = { ...listQuerySchema, properties: { ...listQuerySchema.properties, starting_after: { type: 'string', pattern: '^[0-9]{1,19}$' } } } as const;

/** A card binding's or verification's refusal as an API error code (the cashier answers with the same). */
export const cardCodes: Record<VerifyCardRefusal | 'INVALID_CARD' | 'CARD_NOT_SUPPORTED', ErrorCode> = {
  INVALID_CARD: 'CARD_INVALID',
  CARD_NOT_SUPPORTED: 'CARD_NOT_SUPPORTED',
  SIGN_REFUSED: 'CARD_SIGN_REFUSED',
  BANK_UNAVAILABLE: 'DEPENDENCY_UNAVAILABLE',
  NOT_FOUND: 'NOT_FOUND',
  NOT_PENDING: 'CARD_NOT_PENDING',
  SMS_CODE_WRONG: 'SMS_CODE_WRONG',
  SMS_CODE_EXPIRED: 'SMS_CODE_EXPIRED',
  SMS_CODE_LOCKED: 'SMS_CODE_LOCKED',
};

/** A balance as a JSON integer; beyond 2^53 a JSON number would round, which is a bug here. */
export function jsonAmount(value: bigint): number {
  assert(value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER), 'amount fits a JSON integer');
  return Number(value);
}

function cardJson(card: Card): Record<string, unknown> {
  return { id: card.id, member_id: card.memberId, bank: card.bank, last4: card.last4, status: card.status, created_at: card.createdAt.toISOString() };
}

export function memberRoutes(members: MemberService, ledger: Ledger): FastifyPluginAsync {
  /** The account as API.md shows it; updated_at is the time of its last entry (or its opening). */
  async function accountJson(row: MemberAccountRow): Promise<Record<string, unknown>> {
    const [balance, latest] = await Promise.all([ledger.balance(row.id), ledger.statement(row.id, { limit: 1 })]);
    assert(balance, `member account ${row.id} exists in the ledger`);
    const updatedAt = latest?.lines[0]?.createdAt ?? row.created_at;
    return { id: row.id, member_id: row.member_id, currency: row.currency, posted: jsonAmount(balance.posted), frozen: jsonAmount(balance.frozen), available: jsonAmount(balance.available), updated_at: updatedAt.toISOString() };
  }

  async function memberJson(member: Member): Promise<Record<string, unknown>> {
    const [accounts, passwordSet] = await Promise.all([members.accounts(member.clientId, member.id), members.hasPaymentPassword(member.id)]);
    return {
      id: member.id,
      type: member.type,
      name: member.name,
      external_id: member.externalId,
      account_id: member.accountId,
      accounts: await Promise.all((accounts ?? []).map(accountJson)),
      payment_password_set: passwordSet,
      created_at: member.createdAt.toISOString(),
    };
  }

  async function ownMember(clientId: string, id: string): Promise<Member> {
    const member = await members.get(clientId, id);
    if (!member) throw new AppError('NOT_FOUND');
    return member;
  }

  return async (app) => {
    app.post<{ Body: { type: 'personal' | 'merchant'; name: string; external_id?: string } }>('/v1/members', { schema: { body: createMemberBody } }, async (request, reply) => {
      const body = request.body;
      const result = await members.open(request.ctx, { type: body.type, name: body.name, ...(body.external_id === undefined ? {} : { externalId: body.external_id }) });
      if (!result.ok) throw new AppError('MEMBER_EXTERNAL_ID_CONFLICT', { external_id: body.external_id });
      return reply.code(result.created ? 201 : 200).send(await memberJson(result.member));
    });

    app.get<IdParams>('/v1/members/:id', { schema: { params: idParamsSchema } }, async (request) => memberJson(await ownMember(request.ctx.client, request.params.id)));

    app.get<IdParams>('/v1/members/:id/accounts', { schema: { params: idParamsSchema, querystring: listQuerySchema } }, async (request) => {
      const accounts = await members.accounts(request.ctx.client, request.params.id);
      if (!accounts) throw new AppError('NOT_FOUND');
      return { data: await Promise.all(accounts.map(accountJson)), has_more: false };
    });

    app.get<IdParams>('/v1/accounts/:id', { schema: { params: idParamsSchema } }, async (request) => {
      const account = await members.account(request.ctx.client, request.params.id);
      if (!account) throw new AppError('NOT_FOUND');
      return accountJson(account);
    });

    app.get<IdParams & { Querystring: { limit?: string; starting_after?: string } }>(
      '/v1/accounts/:id/entries',
      { schema: { params: idParamsSchema, querystring: entriesQuery } },
      async (request) => {
        const account = await members.account(request.ctx.client, request.params.id);
        if (!account) throw new AppError('NOT_FOUND');
        const page = await ledger.statement(account.id, { limit: listLimit(request.query), ...(request.query.starting_after ? { after: request.query.starting_after } : {}) });
        assert(page, 'a member account has a statement');
        const voucherIds = [...new Set(page.lines.map((line) => line.voucherId))];
        const vouchers = new Map(await Promise.all(voucherIds.map(async (id) => [id, await ledger.getVoucher(id)] as const)));
        const data = page.lines.map((line) => ({
          id: line.entryId,
          voucher_id: line.voucherId,
          amount: jsonAmount(line.amount),
          balance_after: jsonAmount(line.balanceAfter),
          memo: vouchers.get(line.voucherId)?.memo ?? null,
          created_at: line.createdAt.toISOString(),
        }));
        return { data, has_more: page.nextCursor !== undefined };
      },
    );

    app.post<IdParams & { Body: { card_no: string; holder_name: string; phone: string } }>(
      '/v1/members/:id/cards',
      { schema: { params: idParamsSchema, body: bindCardBody } },
      async (request, reply) => {
        const member = await ownMember(request.ctx.client, request.params.id);
        const body = request.body;
        const result = await members.bindCard(member.id, member.clientId, { cardNo: body.card_no, holderName: body.holder_name, phone: body.phone });
        if (!result.ok) throw new AppError(cardCodes[result.reason], { reason: result.reason.toLowerCase() });
        return reply.code(201).send(cardJson(result.card));
      },
    );

    app.post<IdParams & { Body: { sms_code: string } }>('/v1/cards/:id/verify', { schema: { params: idParamsSchema, body: verifyCardBody } }, async (request) => {
      const result = await members.verifyCard(request.ctx, request.params.id, request.body.sms_code);
      if (!result.ok) throw new AppError(cardCodes[result.reason], result.reason === 'NOT_FOUND' ? undefined : { reason: result.reason.toLowerCase() });
      return cardJson(result.card);
    });

    app.post<IdParams & { Body: { password: string } }>('/v1/members/:id/payment-password', { schema: { params: idParamsSchema, body: passwordBody } }, async (request) => {
      const member = await ownMember(request.ctx.client, request.params.id);
      await members.setPaymentPassword(request.ctx, member.id, request.body.password);
      return memberJson(member);
    });

    app.post<IdParams>('/v1/members/:id/payment-codes', { schema: { params: idParamsSchema, body: emptyBody } }, async (request, reply) => {
      const member = await ownMember(request.ctx.client, request.params.id);
      const code = await members.issuePaymentCode(member.clientId, member.id);
      return reply.code(201).send({ auth_code: code.authCode, member_id: member.id, expires_at: code.expiresAt.toISOString() });
    });
  };
}

