// Builds one parameterized statement from parts (guarded CTE writes). Parameters are always
// bound, never spliced into the text.
export class StatementBuilder {
  readonly params: unknown[] = [];

  /** Binds a value and returns its placeholder, with an optional cast (`::jsonb`). */
  bind(value: unknown, cast = ''): string {
    this.params.push(value);
    return `$${this.params.length}${cast}`;
  }

  /** Binds one value per row as an array of `type` (a column of a set-based statement's `unnest` input). */
  column<Row>(rows: readonly Row[], type: string, value: (row: Row) => unknown): string {
    return this.bind(rows.map(value), `::${type}[]`);
  }
}
