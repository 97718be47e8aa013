// Group commit in the application: writes submitted while earlier ones are being written are
// collected and written together, in one transaction, by one call of `writeBatch`. A write
// submitted to an idle group starts at once (a batch of one: no waiting for company), so batching
// costs nothing at low load and grows with the load: at most `batchesInFlightMax` batches run at a
// time, and whatever queued meanwhile becomes the next batch, up to `batchMax` writes.
//
// A batch is all-or-nothing (one transaction). If it fails, each of its writes is tried again
// alone with `writeOne`, so one bad write fails only its own caller. Callers must therefore submit
// writes that are safe to try again after a rolled-back attempt (guarded writes are).
import { assert } from '../kernel/errors.ts';

export interface GroupCommitOptions<Write, Result> {
  /** Writes several, in one transaction; one result per write, in order. */
  readonly writeBatch: (writes: readonly Write[]) => Promise<Result[]>;
  /** Writes one alone (a batch of one, and each write of a failed batch). */
  readonly writeOne: (write: Write) => Promise<Result>;
  /**
   * Whether `writeBatch` can take these writes together (say, no row twice); when it cannot, they
   * are written one after the other with `writeOne`, each settling its own caller. Default: always.
   */
  readonly fitsBatch?: (writes: readonly Write[]) => boolean;
  readonly batchMax: number;
  readonly batchesInFlightMax: number;
  /** Told the size of each batch and how it went (metrics): written together, failed and written one by one, or one by one from the start. */
  readonly onBatch?: (size: number, outcome: BatchOutcome) => void;
}

export type BatchOutcome = 'written' | 'failed' | 'one_by_one';

interface Queued<Write, Result> {
  readonly write: Write;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit<Write, Result> {
  private readonly queue: Queued<Write, Result>[] = [];
  private inFlight = 0;

  constructor(private readonly options: GroupCommitOptions<Write, Result>) {
    assert(Number.isInteger(options.batchMax) && options.batchMax >= 1, 'GroupCommit: batchMax >= 1');
    assert(Number.isInteger(options.batchesInFlightMax) && options.batchesInFlightMax >= 1, 'GroupCommit: batchesInFlightMax >= 1');
  }

  submit(write: Write): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      this.drain();
    });
  }

  /** Writes waiting for a batch (not yet being written). */
  get queued(): number {
    return this.queue.length;
  }

  private drain(): void {
    while (this.inFlight < this.options.batchesInFlightMax && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.batchMax);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  private async run(batch: Queued<Write, Result>[]): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0]!;
      await this.options.writeOne(only.write).then(only.resolve, only.reject);
      this.options.onBatch?.(1, 'written');
      return;
    }
    const writes = batch.map((queued) => queued.write);
    if (this.options.fitsBatch && !this.options.fitsBatch(writes)) {
      for (const queued of batch) await this.options.writeOne(queued.write).then(queued.resolve, queued.reject);
      this.options.onBatch?.(batch.length, 'one_by_one');
      return;
    }
    let results: Result[];
    try {
      results = await this.options.writeBatch(writes);
    } catch {
      // Rolled back whole: each write alone, so only a bad one fails its caller.
      this.options.onBatch?.(batch.length, 'failed');
      await Promise.all(batch.map((queued) => this.options.writeOne(queued.write).then(queued.resolve, queued.reject)));
      return;
    }
    // Committed: a wrong count is a bug, never a reason to write again.
    assert(results.length === batch.length, 'GroupCommit: one result per write');
    this.options.onBatch?.(batch.length, 'written');
    batch.forEach((queued, index) => queued.resolve(results[index]!));
  }
}

/**
 * One group per database, made on first use: `groupOf(db, make)` returns the group this registry
 * holds for `db`, making it with `make` the first time (a WeakMap, so a closed database's group goes with it).
 */
export class GroupsPerDatabase<Write, Result> {
  private readonly groups = new WeakMap<object, GroupCommit<Write, Result>>();

  groupOf(db: object, make: () => GroupCommitOptions<Write, Result>): GroupCommit<Write, Result> {
    let group = this.groups.get(db);
    if (group === undefined) {
      group = new GroupCommit(make());
      this.groups.set(db, group);
    }
    return group;
  }
}
