/**
 * Network tokens: an agreement for a card of the shared network (6228…) is the card number
 * sealed with the network's key, so any bank of the network can pay with it. This is what lets
 * the gateway fail a bound 6228 card over from one bank to the other without a second binding.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const prefix = 'NT';

function key(networkKey: string): Buffer {
  return createHash('sha256').update(`card-network:${networkKey}`).digest();
}

export function sealCard(networkKey: string, cardNo: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key(networkKey), iv);
  const body = Buffer.concat([cipher.update(cardNo, 'utf8'), cipher.final()]);
  return prefix + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The card inside a network token, or undefined when it is not one or was not sealed with this key. */
export function openCard(networkKey: string, token: string): string | undefined {
  if (!token.startsWith(prefix)) return undefined;
  try {
    const raw = Buffer.from(token.slice(prefix.length), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key(networkKey), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
