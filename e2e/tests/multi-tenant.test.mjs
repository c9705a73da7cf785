// examples/multi-tenant: two projects in one worker, under the bindings BLOG_DO and SHOP_DO with
// different applications. The same email makes two separate accounts, each project sees only its
// own tables, and a token of one project opens nothing in the other.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, uniqueEmail } from '../lib/api.mjs';
import { startWorker, testVars } from '../run.mjs';

const root = join(import.meta.dirname, '..', '..');
let server;

before(async () => {
  server = await startWorker({ name: 'multi-tenant', vars: testVars(), config: join(root, 'examples/multi-tenant/wrangler.toml') });
});
after(() => server?.stop());

async function api(method, path, { token, json } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(server.url + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  return { status: res.status, json: await res.json() };
}

describe('two projects in one worker', () => {
  test('the same email makes two accounts, one per project', async () => {
    const email = uniqueEmail('tenant');
    const blog = await api('POST', '/blog/api/signup', { json: { email, password: PASSWORD } });
    const shop = await api('POST', '/shop/api/signup', { json: { email, password: PASSWORD } });
    assert.equal(blog.status, 201, JSON.stringify(blog.json));
    assert.equal(shop.status, 201, JSON.stringify(shop.json));
    assert.notEqual(blog.json.user.id, shop.json.user.id);
    assert.equal((await api('GET', '/blog/api/me', { token: blog.json.token })).json.user.email, email);
  });

  test("each project has its own application's tables, and a token opens only its own project", async () => {
    const email = uniqueEmail('tenant-data');
    const blog = (await api('POST', '/blog/api/signup', { json: { email, password: PASSWORD } })).json;
    const shop = (await api('POST', '/shop/api/signup', { json: { email, password: PASSWORD } })).json;
    assert.equal((await api('POST', '/blog/api/tables/posts', { token: blog.token, json: { text: 'hello' } })).status, 201);
    assert.equal((await api('POST', '/shop/api/tables/orders', { token: shop.token, json: { item: 'tea', quantity: 2 } })).status, 201);
    assert.equal((await api('GET', '/shop/api/tables/posts', { token: shop.token })).status, 404, 'the shop has no posts');
    assert.equal((await api('GET', '/blog/api/tables/orders', { token: blog.token })).status, 404, 'the blog has no orders');
    // The blog's token names a blog object: the shop refuses it, for its own data and the blog's.
    const crossed = await api('GET', '/shop/api/me', { token: blog.token });
    assert.equal(crossed.status, 401, JSON.stringify(crossed.json));
    assert.equal((await api('GET', '/shop/api/tables/posts', { token: blog.token })).status, 401);
    const posts = await api('GET', '/blog/api/tables/posts', { token: blog.token });
    assert.deepEqual(posts.json.rows.map((r) => r.text), ['hello']);
    assert.equal((await api('GET', '/nowhere/api/me')).status, 404);
  });
});
