import type { ClusterReader, Lease } from '../../ports/leases.ts';

// `btcbot status --cluster`: every process on a shared store, its pairs with their lease epochs,
// its last heartbeat and budget use, and the leases no live process holds.

export interface ClusterProcessView {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  /** Heartbeat within its lease time as of the read. */
  readonly alive: boolean;
  readonly pairs: readonly { symbol: string; epoch: number; expiresAt: number }[];
  readonly budget: Readonly<Record<string, number>> | null;
}

export interface ClusterView {
  readonly at: number;
  readonly processes: readonly ClusterProcessView[];
  /** Leases whose holder is not a process listed (gone) or that expired: free for the taking. */
  readonly unheld: readonly Lease[];
}

export async function clusterView(reader: ClusterReader, now: number): Promise<ClusterView> {
  const [processes, leases] = await Promise.all([reader.processes(), reader.leases()]);
  const live = (lease: Lease) => lease.expiresAt > now;
  const views = processes.map((p) => ({
    id: p.id,
    host: p.host,
    pid: p.pid,
    startedAt: p.startedAt,
    heartbeatAt: p.heartbeatAt,
    alive: p.heartbeatAt + p.leaseMs > now,
    pairs: leases
      .filter((l) => l.holder === p.id && live(l))
      .map((l) => ({ symbol: l.symbol, epoch: l.epoch, expiresAt: l.expiresAt })),
    budget: p.budget,
  }));
  const listed = new Set(processes.map((p) => p.id));
  return { at: now, processes: views, unheld: leases.filter((l) => !live(l) || !listed.has(l.holder)) };
}

export function clusterLines(view: ClusterView): string[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  if (view.processes.length === 0 && view.unheld.length === 0)
    return ['cluster: no process has used this store in cluster mode (--max-symbols)'];
  const lines = [`cluster at ${iso(view.at)}: ${view.processes.length} process(es)`];
  for (const p of view.processes) {
    const pairs = p.pairs.map((x) => `${x.symbol}@${x.epoch}`).join(', ') || 'none';
    const budget =
      p.budget === null
        ? 'not reported'
        : Object.entries(p.budget)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ');
    lines.push(
      `  ${p.id} (pid ${p.pid} on ${p.host})${p.alive ? '' : ' NOT HEARTBEATING'}: pairs ${pairs}; ` +
        `heartbeat ${iso(p.heartbeatAt)} (${Math.round((view.at - p.heartbeatAt) / 1000)} s ago); budget ${budget}`,
    );
  }
  for (const l of view.unheld)
    lines.push(
      `  ${l.symbol}: free (last held by ${l.holder} at epoch ${l.epoch}, until ${iso(l.expiresAt)})`,
    );
  return lines;
}
