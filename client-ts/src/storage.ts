/**
 * Where the client may keep its tokens between page loads: `localStorage` and `sessionStorage`
 * fit as they are. Without one, tokens live in memory only.
 */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The tokens of one session. */
export interface Tokens {
  /** The access token (a short-lived JWT), sent as `Authorization: Bearer`. */
  token: string;
  /**
   * The refresh token (opaque, single use). Empty with the client's `cookies` option: the browser
   * keeps it in an HttpOnly cookie that scripts cannot read.
   */
  refreshToken: string;
}

/** Reads tokens saved under `key`; anything unreadable counts as none. */
export function loadTokens(storage: TokenStorage | undefined, key: string): Tokens | null {
  if (!storage) return null;
  try {
    const text = storage.getItem(key);
    if (!text) return null;
    const parsed = JSON.parse(text) as Partial<Tokens>;
    if (typeof parsed.token === 'string' && typeof parsed.refreshToken === 'string') {
      return { token: parsed.token, refreshToken: parsed.refreshToken };
    }
  } catch {
    // A corrupt entry is the same as none.
  }
  return null;
}

/** Saves (or, for `null`, removes) the tokens under `key`. */
export function saveTokens(storage: TokenStorage | undefined, key: string, tokens: Tokens | null): void {
  if (!storage) return;
  if (tokens) storage.setItem(key, JSON.stringify(tokens));
  else storage.removeItem(key);
}
