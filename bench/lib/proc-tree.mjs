// A process tree's members and memory, from /proc (shared by bench/run.mjs and bench/density.mjs).
import { readdirSync, readFileSync } from 'node:fs';

export function readProcText(path) {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

export function processTree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcText(`/proc/${name}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') continue;
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** Sum of Rss and Pss (kB in smaps_rollup) over the tree. PSS splits shared pages, so it adds up honestly across forks. */
export function treeMemory(root) {
  let rssKb = 0;
  let pssKb = 0;
  const pids = processTree(root);
  const perProcess = [];
  for (const pid of pids) {
    const text = readProcText(`/proc/${pid}/smaps_rollup`) ?? '';
    const rss = Number(/^Rss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
    const pss = Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
    rssKb += rss;
    pssKb += pss;
    perProcess.push({ pid, role: pid === root ? 'master' : 'worker', rssMb: rss / 1024, pssMb: pss / 1024 });
  }
  return { processes: pids.length, rssMb: rssKb / 1024, pssMb: pssKb / 1024, perProcess };
}

