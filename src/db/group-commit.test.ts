import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.ts';

const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function recorder(options: { failBatchesWith?: number; failOne?: number; fitsBatch?: (writes: readonly number[]) => boolean } = {}) {
  const batches: number[][] = [];
  const singles: number[] = [];
  const outcomes: string[] = [];
  const group = new GroupCommit<number, string>({
    writeBatch: async (writes) => {
      await later(10);
      if (options.failBatchesWith !== undefined && writes.includes(options.failBatchesWith)) throw new Error('rolled back');
      batches.push([...writes]);
      return writes.map((w) => `batch:${w}`);
    },
    writeOne: async (write) => {
      await later(1);
      if (write === options.failOne) throw new Error(`write ${write} refused`);
      singles.push(write);
      return `one:${write}`;
    },
    batchMax: 4,
    batchesInFlightMax: 1,
    ...(options.fitsBatch ? { fitsBatch: options.fitsBatch } : {}),
    onBatch: (size, outcome) => outcomes.push(`${outcome}:${size}`),
  });
  return { group, batches, singles, outcomes };
}

describe('GroupCommit', () => {
  it('writes a lone write at once, alone, and collects what arrives meanwhile into batches of at most batchMax', async () => {
    const { group, batches, singles } = recorder();
    const first = group.submit(1);
    const rest = [2, 3, 4, 5, 6, 7].map((w) => group.submit(w));
    expect(group.queued).toBe(6);
    expect(await first).toBe('one:1');
    expect(await Promise.all(rest)).toEqual(['batch:2', 'batch:3', 'batch:4', 'batch:5', 'batch:6', 'batch:7']);
    expect(singles).toEqual([1]);
    expect(batches).toEqual([[2, 3, 4, 5], [6, 7]]);
  });

  it('writes each write of a failed batch alone, so only a bad one fails its caller', async () => {
    const { group, batches, singles } = recorder({ failBatchesWith: 3, failOne: 3 });
    const lone = group.submit(1);
    const results = [2, 3, 4].map((w) => group.submit(w).catch((error: Error) => error.message));
    await lone;
    expect(await Promise.all(results)).toEqual(['one:2', 'write 3 refused', 'one:4']);
    expect(batches).toEqual([]);
    expect(singles.sort()).toEqual([1, 2, 4]);
  });

  it('writes a batch that does not fit one after the other, each write settling its own caller', async () => {
    const { group, batches, singles, outcomes } = recorder({ fitsBatch: (writes) => new Set(writes).size === writes.length, failOne: 3 });
    const lone = group.submit(1);
    const results = [2, 3, 2].map((w) => group.submit(w).catch((error: Error) => error.message));
    await lone;
    expect(await Promise.all(results)).toEqual(['one:2', 'write 3 refused', 'one:2']);
    expect(batches).toEqual([]);
    expect(singles).toEqual([1, 2, 2]); // in order, one after the other
    expect(outcomes).toEqual(['written:1', 'one_by_one:3']);
    const together = [4, 5].map((w) => group.submit(w));
    await Promise.all([group.submit(6), ...together]);
    expect(batches).toEqual([[5, 6]]);
  });

  it('refuses nonsense limits', () => {
    const write = async () => 'x';
    expect(() => new GroupCommit({ writeBatch: async () => [], writeOne: write, batchMax: 0, batchesInFlightMax: 1 })).toThrow();
    expect(() => new GroupCommit({ writeBatch: async () => [], writeOne: write, batchMax: 1, batchesInFlightMax: 0 })).toThrow();
  });
});
