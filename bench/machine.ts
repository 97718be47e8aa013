// Facts about the machine a benchmark ran on, printed and stored with its figures.

import os from 'node:os';

export interface MachineFacts {
  readonly cpu_model: string;
  readonly cpu_count: number;
  readonly memory_total_bytes: number;
  readonly os: string;
  readonly node_version: string;
  readonly postgresql_version: string;
}

export function machineFacts(postgresql_version: string): MachineFacts {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    cpu_count: cpus.length,
    memory_total_bytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node_version: process.version,
    postgresql_version,
  };
}
