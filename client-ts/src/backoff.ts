/** How long to wait before reconnecting. */
export interface BackoffOptions {
  /** The first attempt's ceiling, in milliseconds. Default 500. */
  baseDelayMs?: number;
  /** The largest ceiling, in milliseconds. Default 30000. */
  maxDelayMs?: number;
}

/** The defaults of {@link BackoffOptions}. */
export const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * Exponential backoff with full jitter: a delay drawn uniformly from
 * `[0, min(maxDelayMs, baseDelayMs * 2^attempt))`, `attempt` counting from 0. Full jitter spreads
 * the reconnects of many clients after a server restart instead of bunching them.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseDelayMs ?? DEFAULT_BACKOFF.baseDelayMs;
  const max = options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs;
  // 2^attempt overflows to Infinity for huge attempts; min() caps it either way.
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
