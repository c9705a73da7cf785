// An example parent worker: a worker of your own that needs to know who is signed in, and binds
// the userdo-rs worker as the service AUTH (see wrangler.toml). It knows nothing of Durable
// Objects or tokens: getSession forwards the request's Authorization and Cookie headers to the
// auth worker's GET /api/session and answers {user, session}, or null (failing closed).
//
//   GET /whoami   200 {userId, email} for a live session, else 401 in the API's error shape
//   /api/*        passed to the auth worker unchanged, so the auth API shares this worker's
//                 origin and the browser's HttpOnly `token` cookie reaches /whoami too
//
// wrangler bundles it with the client's TypeScript sources (in your project:
// `import { getSession } from '@userdo/client'`).
import { getSession } from '../../../client-ts/src/index.js';

const json = (status, body) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });

const error = (status, code, message) => json(status, { error: { code, message } });

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/whoami') {
      if (request.method !== 'GET') return error(405, 'method_not_allowed', 'use GET');
      const found = await getSession(env.AUTH, request, { timeoutMs: 3000 });
      if (!found) return error(401, 'unauthenticated', 'not signed in');
      return json(200, { userId: found.user.id, email: found.user.email });
    }
    if (pathname.startsWith('/api/')) return env.AUTH.fetch(request);
    return error(404, 'not_found', 'no such endpoint');
  },
};
