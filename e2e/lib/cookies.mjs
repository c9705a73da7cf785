// Set-Cookie parsing shared by the e2e helpers (api.mjs's `call` and oidc.mjs's browser), with no
// dependency on a running worker.

/** Set-Cookie lines, parsed: { name: { value, attrs } }, attribute names lower-cased. */
export function parseSetCookieLines(lines) {
  const cookies = {};
  for (const line of lines) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    cookies[pair.slice(0, eq)] = {
      value: pair.slice(eq + 1),
      attrs: Object.fromEntries(attrs.filter(Boolean).map((a) => {
        const i = a.indexOf('=');
        return i < 0 ? [a.toLowerCase(), true] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
      })),
    };
  }
  return cookies;
}
