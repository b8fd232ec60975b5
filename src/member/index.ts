/**
 * Members (SYSTEM.md §1): personal and merchant members of each API client with their ledger
 * balance accounts, payment passwords, bound cards and one-time payment codes.
 */
export { MemberService, type MemberDeps, type MemberOptions, type CreateMemberInput, type OpenMemberResult } from './member.service.js';
export { memberAccountCode, type Member, type MemberType, type Card, type CardBinder, type PasswordCheck } from './member.js';
export type { BindCardInput, BindCardResult, VerifyMemberCardResult, VerifyCardRefusal } from './card.service.js';
export { cardCodes, memberRoutes } from './member.routes.js';
export type { MemberDB } from './member.table.js';
