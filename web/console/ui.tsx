/** Small pieces the console's sections share: the operator session, tables, a line chart. */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError } from '../shared/api.js';

export type Role = 'viewer' | 'operator' | 'admin';
export interface Session { token: string; operator: { id: string; name: string; role: Role } }

export const SessionContext = createContext<{ session: Session; logout(): void } | undefined>(undefined);

export function useSession() {
  const value = useContext(SessionContext);
  if (!value) throw new Error('no session');
  return value;
}

export function can(role: Role, needed: Role): boolean {
  const order: Role[] = ['viewer', 'operator', 'admin'];
  return order.indexOf(role) >= order.indexOf(needed);
}

/** The admin API with the operator's token; a 401 ends the session. */
export function useAdmin() {
  const { session, logout } = useSession();
  return useCallback(
    async <T,>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
      try {
        return await api<T>(path, `Bearer ${session.token}`, init);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) logout();
        throw error;
      }
    },
    [session.token, logout],
  );
}

/** Loads `path` (again when `path` or `tick` changes); errors are shown, not thrown. */
export function useLoad<T>(path: string | undefined, tick = 0): { data: T | undefined; error: string | undefined; reload(): void } {
  const admin = useAdmin();
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    admin<T>(path)
      .then((d) => live && (setData(d), setError(undefined)))
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [path, tick, n, admin]);
  return { data, error, reload: () => setN((x) => x + 1) };
}

export function ErrorText({ error }: { error: string | undefined }) {
  return error ? <p role="alert" className="error">{error}</p> : null;
}

function cell(value: unknown): ReactNode {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (typeof value === 'object') return <code>{JSON.stringify(value)}</code>;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

/** A table of objects: the given columns, else every key of the first row; optional actions column. */
export function DataTable({ rows, columns, caption, actions, testId }: { rows: Array<Record<string, unknown>>; columns?: string[]; caption: string; actions?: (row: Record<string, unknown>) => ReactNode; testId?: string }) {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  if (rows.length === 0) return <p className="muted">{caption}: none.</p>;
  return (
    <div style={{ overflowX: 'auto' }}>
      <table data-testid={testId}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {cols.map((c) => <th key={c} scope="col">{c.replaceAll('_', ' ')}</th>)}
            {actions && <th scope="col">actions</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={String(row.id ?? i)} data-row-id={String(row.id ?? '')}>
              {cols.map((c) => <td key={c}>{c === 'status' || c === 'circuit' ? <span className={`badge ${String(row[c])}`}>{cell(row[c])}</span> : cell(row[c])}</td>)}
              {actions && <td>{actions(row)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const palette = ['#0b57d0', '#c5221f', '#0a7b34', '#8a5300', '#6a1b9a'];
export const colourOf = (i: number) => palette[i % palette.length]!;

/** A plain SVG line chart: one line per series, y from 0 to the largest value (or `max`). */
export function LineChart({ title, series, max, unit }: { title: string; series: Array<{ name: string; values: Array<number | null> }>; max?: number; unit: string }) {
  const width = 360;
  const height = 140;
  const top = Math.max(max ?? 0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null)), 1);
  const length = Math.max(2, ...series.map((s) => s.values.length));
  const x = (i: number) => (i / (length - 1)) * width;
  const y = (v: number) => height - 4 - (v / top) * (height - 8);
  const latest = series.map((s) => `${s.name} ${s.values.at(-1) ?? '—'} ${unit}`).join(', ');
  return (
    <figure className="card chart" style={{ margin: 0 }}>
      <figcaption><strong>{title}</strong> <span className="muted">(max {Math.round(top * 100) / 100} {unit})</span></figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`${title}: ${latest}`}>
        {series.map((s, i) => {
          const points = s.values.map((v, j) => (v === null ? null : `${x(j + length - s.values.length).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
          return <polyline key={s.name} fill="none" stroke={colourOf(i)} strokeWidth="2" points={points.join(' ')} />;
        })}
      </svg>
      <div className="legend">
        {series.map((s, i) => (
          <span key={s.name}><span className="swatch" style={{ background: colourOf(i) }} />{s.name}</span>
        ))}
      </div>
    </figure>
  );
}
