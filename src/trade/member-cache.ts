/** Members' ledger accounts never change, so the hot path looks them up once (bounded cache). */
import type { MemberInfo, MemberPort } from '../payment/index.js';

const entriesMax = 10_000;

export class MemberCache {
  private readonly byId = new Map<string, MemberInfo>();

  constructor(private readonly members: MemberPort) {}

  /** A member of this client, or undefined (another client's member is as good as absent). */
  async get(clientId: string, memberId: string): Promise<MemberInfo | undefined> {
    const cached = this.byId.get(memberId);
    if (cached) return cached.clientId === clientId ? cached : undefined;
    const member = await this.members.get(clientId, memberId);
    if (member) this.remember(member);
    return member;
  }

  async getById(memberId: string): Promise<MemberInfo | undefined> {
    const cached = this.byId.get(memberId);
    if (cached) return cached;
    const member = await this.members.getById(memberId);
    if (member) this.remember(member);
    return member;
  }

  private remember(member: MemberInfo): void {
    if (this.byId.size >= entriesMax) this.byId.clear();
    this.byId.set(member.id, { id: member.id, clientId: member.clientId, accountId: member.accountId });
  }
}
