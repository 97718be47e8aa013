// Bounds of the Stripe connector (the platform-wide ones live in src/kernel/limits.ts).

export const stripeConnectorLimits = Object.freeze({
  /** Stripe's search index can lag writes by up to an hour during incidents (docs: "Search"). */
  search_index_lag_ms_max: 60 * 60 * 1000,
  /** How far our clock and Stripe's may disagree when choosing the list window. */
  clock_skew_ms_max: 5 * 60 * 1000,
  /** Strongly consistent list scan behind a search miss: pages of 100, at most this many. */
  list_page_size: 100,
  list_pages_max: 20,
  /** Search page size: more than one match is already an anomaly. */
  search_page_size: 10,
  /** Largest response body read from Stripe. */
  response_body_bytes_max: 1024 * 1024,
  /** Age (either way) beyond which a signed webhook is rejected, as Stripe's libraries do. */
  webhook_tolerance_seconds: 300,
  /** Largest timeout a connector may be configured with. */
  timeout_ms_max: 120_000,
  /**
   * Sockets one connector instance keeps open to Stripe (its keep-alive agent's maxSockets and
   * maxFreeSockets). Calls beyond it wait in the agent's queue, under their own timeout.
   */
  sockets_max: 256,
  /**
   * An idle keep-alive socket is closed after this long, below the 5 s keep-alive timeout of
   * Node's own server, so that our side closes first rather than writing into a socket the
   * server is closing (a reset, hence an `unknown`). A server's `Keep-Alive: timeout=N` hint
   * shortens it further (to N - 1 s); it never lengthens it.
   */
  idle_socket_ms: 4_000,
});
