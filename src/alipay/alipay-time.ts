/**
 * Alipay's wall-clock times: `yyyy-MM-dd HH:mm:ss` without a zone, meant as Beijing time (the
 * zone is configurable). alipay-sdk writes the *client process's* local time, so a merchant
 * whose servers do not run on the configured zone sees its timestamps refused as stale: that is
 * Alipay's behaviour too, and the window (PAYCORE_ALIPAY_TIMESTAMP_WINDOW_MS) is what bounds it.
 */
const wallPattern = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(zone, f);
  }
  return f;
}

function wallParts(instantMs: number, zone: string): Record<string, string> {
  const parts: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(new Date(instantMs))) parts[part.type] = part.value;
  return parts;
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetMs(instantMs: number, zone: string): number {
  const p = wallParts(instantMs, zone);
  const wallAsUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return wallAsUtc - Math.floor(instantMs / 1000) * 1000;
}

/** Wall-clock fields read in `zone` → epoch ms (the later reading wins in a DST fold; China has none). */
function wallToInstant(fields: number[], zone: string): number {
  const [year, month, day, hour = 0, minute = 0, second = 0] = fields as [number, number, number, number?, number?, number?];
  const wallAsUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const first = wallAsUtc - offsetMs(wallAsUtc, zone);
  return wallAsUtc - offsetMs(first, zone);
}

function validFields(fields: number[]): boolean {
  const [year, month, day, hour = 0, minute = 0, second = 0] = fields as [number, number, number, number?, number?, number?];
  const probe = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
}

/** `yyyy-MM-dd HH:mm:ss` in `zone` → epoch ms; undefined when malformed. */
export function parseAlipayTime(text: string, zone: string): number | undefined {
  const match = wallPattern.exec(text);
  if (!match) return undefined;
  const fields = match.slice(1).map(Number);
  return validFields(fields) ? wallToInstant(fields, zone) : undefined;
}

/** An instant as `yyyy-MM-dd HH:mm:ss` in `zone`. */
export function formatAlipayTime(instant: Date, zone: string): string {
  const p = wallParts(instant.getTime(), zone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** The day `yyyy-MM-dd` in `zone` as [start, end) epoch ms; undefined when malformed. */
export function alipayDayBounds(text: string, zone: string): { startMs: number; endMs: number } | undefined {
  const match = datePattern.exec(text);
  if (!match) return undefined;
  const fields = match.slice(1).map(Number);
  if (!validFields(fields)) return undefined;
  const next = new Date(Date.UTC(fields[0]!, fields[1]! - 1, fields[2]! + 1));
  return { startMs: wallToInstant(fields, zone), endMs: wallToInstant([next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()], zone) };
}
