// A transition table: for each state, the events it accepts and the state each leads to.
// Anything outside the table is a named rejection, never a silent overwrite.

export type TransitionTable<State extends string, Event extends string> = {
  readonly [S in State]: Partial<Readonly<Record<Event, State>>>;
};

export type TransitionResult<State extends string> =
  | { readonly ok: true; readonly state: State }
  | { readonly ok: false; readonly rejection: string };

export function transitionBy<State extends string, Event extends string>(
  aggregate: string,
  table: TransitionTable<State, Event>,
  state: State,
  event: Event,
): TransitionResult<State> {
  const row = table[state];
  if (row === undefined) return { ok: false, rejection: `${aggregate}_state_unknown:${state}` };
  const next = row[event];
  if (next === undefined) return { ok: false, rejection: `${aggregate}_${event}_not_allowed_from_${state}` };
  return { ok: true, state: next };
}

/** All states reachable in the table (for exhaustiveness tests). */
export function statesOf<State extends string, Event extends string>(table: TransitionTable<State, Event>): State[] {
  return Object.keys(table) as State[];
}
