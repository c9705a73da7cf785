// The per-user key-value store over HTTP: /api/kv, /api/kv/{key} and the /data compatibility pair,
// with their limits (keys of 1 to 512 bytes, `__` reserved, values up to 1 MiB of JSON), their
// errors, CSRF, and isolation between users.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALLOWED_ORIGIN, BASE, EVIL_ORIGIN, PASSWORD, call, expectFieldError, expectStatus, newUser,
} from '../lib/api.mjs';

const MiB = 1024 * 1024;
const JSON_HEADERS = { 'content-type': 'application/json' };
const kvPath = (key) => `/api/kv/${encodeURIComponent(key)}`;
const put = (token, key, value) => call('PUT', kvPath(key), { token, json: value });
const get = (token, key) => call('GET', kvPath(key), { token });
const del = (token, key) => call('DELETE', kvPath(key), { token });
const keysOf = async (token, prefix) => {
  const path = prefix === undefined ? '/api/kv' : `/api/kv?prefix=${encodeURIComponent(prefix)}`;
  const res = expectStatus(await call('GET', path, { token }), 200);
  assert.deepEqual(Object.keys(res.json), ['keys'], JSON.stringify(res.json));
  return res.json.keys;
};
/** PUT answers {key, value} with what was stored. */
const putOk = async (token, key, value) => {
  const res = expectStatus(await put(token, key, value), 200);
  assert.deepEqual(res.json, { key, value });
  return res;
};
/** GET answers {key, value}. */
const valueOf = async (token, key) => {
  const res = expectStatus(await get(token, key), 200);
  assert.deepEqual(Object.keys(res.json).sort(), ['key', 'value']);
  assert.equal(res.json.key, key);
  return res.json.value;
};
const bytes = (s) => Buffer.byteLength(s, 'utf8');

describe('key-value store', () => {
  test('PUT, GET, overwrite and DELETE a key; an absent key is 404 and deleting it is still 200', async () => {
    const u = await newUser({ tag: 'kvbasic' });
    expectStatus(await get(u.token, 'theme'), 404, 'not_found');
    assert.deepEqual(await keysOf(u.token), []);
    await putOk(u.token, 'theme', { mode: 'dark', size: 12 });
    assert.deepEqual(await valueOf(u.token, 'theme'), { mode: 'dark', size: 12 });
    await putOk(u.token, 'theme', 'light');
    assert.equal(await valueOf(u.token, 'theme'), 'light');
    assert.deepEqual(await keysOf(u.token), ['theme']);
    assert.deepEqual(expectStatus(await del(u.token, 'theme'), 200).json, { ok: true });
    expectStatus(await get(u.token, 'theme'), 404, 'not_found');
    assert.deepEqual(await keysOf(u.token), []);
    // Deleting what is not there is not an error: the end state is what was asked for.
    assert.deepEqual(expectStatus(await del(u.token, 'theme'), 200).json, { ok: true });
    assert.deepEqual(expectStatus(await del(u.token, 'never-set'), 200).json, { ok: true });
  });

  test('values of every JSON type round trip, and null is a stored value, not an absence', async () => {
    const u = await newUser({ tag: 'kvtypes' });
    const values = {
      null: null,
      true: true,
      false: false,
      zero: 0,
      negative: -42,
      float: 1.5,
      large: 1e300,
      maxSafe: Number.MAX_SAFE_INTEGER,
      emptyString: '',
      string: 'h\u00e9llo "quoted" \\ \u{1F600} \n\t\u0000',
      emptyArray: [],
      array: [1, 'two', null, [3, { four: 4 }]],
      emptyObject: {},
      object: { nested: { deep: [1, { x: null, y: false }] }, 'key with space': '\u00e9' },
    };
    for (const [key, value] of Object.entries(values)) await putOk(u.token, key, value);
    for (const [key, value] of Object.entries(values)) {
      assert.deepEqual(await valueOf(u.token, key), value, key);
    }
    assert.deepEqual(await keysOf(u.token), Object.keys(values).sort());
    const res = expectStatus(await get(u.token, 'null'), 200);
    assert.ok(Object.hasOwn(res.json, 'value') && res.json.value === null, res.text);
  });

  test('keys with /, %2F, spaces, Unicode and URL characters round trip through the path', async () => {
    const u = await newUser({ tag: 'kvchars' });
    const keys = [
      'a/b', 'a%2Fb', 'with space', ' leading and trailing ', 'plus+sign', 'query?and#hash&amp=1',
      '\u00e9t\u00e9', '\u65e5\u672c\u8a9e', '\u{1F600}', 'e\u0301', 'tab\there', 'a\\b', '.hidden', '...',
      "quote\"'", '<tag>', '100%', '%zz', '%FF',
    ];
    for (const [i, key] of keys.entries()) await putOk(u.token, key, i);
    for (const [i, key] of keys.entries()) assert.equal(await valueOf(u.token, key), i, key);
    // Each is its own key: 'a/b' and the literal 'a%2Fb' are two, é and e + U+0301 are two.
    assert.deepEqual((await keysOf(u.token)).sort(), [...keys].sort());
    // Raw UTF-8 in the path (percent-encoded by fetch) is the same key as the encoded form.
    assert.equal(expectStatus(await call('GET', '/api/kv/\u00e9t\u00e9', { token: u.token }), 200).json.value, 6);
    // A raw / splits the path: that is not the key "a/b" but no endpoint at all.
    expectStatus(await call('GET', '/api/kv/a/b', { token: u.token }), 404, 'not_found');
    expectStatus(await call('PUT', '/api/kv/x/y', { token: u.token, json: 1 }), 404, 'not_found');
    // DELETE of an encoded key removes exactly that key.
    expectStatus(await del(u.token, 'a/b'), 200);
    expectStatus(await get(u.token, 'a/b'), 404, 'not_found');
    assert.equal(await valueOf(u.token, 'a%2Fb'), 1);
  });

  test('a key that is not valid percent-encoded UTF-8 is 400 validation_failed on key', async () => {
    const u = await newUser({ tag: 'kvbadpath' });
    for (const path of ['/api/kv/%zz', '/api/kv/a%2', '/api/kv/%FF', '/api/kv/%C3', '/api/kv/%ED%A0%80', '/api/kv/%C3%28']) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const json = method === 'PUT' ? 1 : undefined;
        expectFieldError(await call(method, path, { token: u.token, json }), 'key');
      }
    }
    assert.deepEqual(await keysOf(u.token), []);
  });

  test('keys are 1 to 512 bytes of UTF-8, and keys starting with __ are reserved', async () => {
    const u = await newUser({ tag: 'kvkeys' });
    const ascii512 = 'k'.repeat(512);
    const multibyte512 = '\u00e9'.repeat(256); // 256 characters, 512 bytes
    const four512 = '\u{1F600}'.repeat(128); // 128 characters, 512 bytes
    for (const key of [ascii512, multibyte512, four512]) {
      assert.equal(bytes(key), 512);
      await putOk(u.token, key, bytes(key));
      assert.equal(await valueOf(u.token, key), 512);
    }
    const tooLong = [
      'k'.repeat(513),
      `${multibyte512}a`, // 257 characters but 513 bytes
      '\u{1F600}'.repeat(129),
    ];
    for (const key of tooLong) {
      assert.ok(bytes(key) > 512);
      expectFieldError(await put(u.token, key, 1), 'key');
      expectFieldError(await get(u.token, key), 'key');
      expectFieldError(await del(u.token, key), 'key');
      expectFieldError(await call('POST', '/data', { token: u.token, json: { key, value: 1 } }), 'key');
      expectFieldError(await call('GET', `/data?key=${encodeURIComponent(key)}`, { token: u.token }), 'key');
    }
    for (const key of ['__', '__proto__', '__userdo', '__x/y']) {
      const res = expectFieldError(await put(u.token, key, 1), 'key');
      assert.match(res.json.error.details.key[0], /reserved/);
      expectFieldError(await get(u.token, key), 'key');
      expectFieldError(await del(u.token, key), 'key');
      expectFieldError(await call('POST', '/data', { token: u.token, json: { key, value: 1 } }), 'key');
      expectFieldError(await call('GET', `/data?key=${encodeURIComponent(key)}`, { token: u.token }), 'key');
    }
    // The empty key: through /data it is a 400; the path /api/kv/ names no key, so no endpoint.
    expectFieldError(await call('POST', '/data', { token: u.token, json: { key: '', value: 1 } }), 'key');
    expectFieldError(await call('GET', '/data?key=', { token: u.token }), 'key');
    expectStatus(await call('PUT', '/api/kv/', { token: u.token, json: 1 }), 404, 'not_found');
    // One underscore, or two not at the start, are ordinary keys.
    for (const key of ['_', '_x', 'a__b', '_ _']) await putOk(u.token, key, key);
    assert.deepEqual(await keysOf(u.token, '__'), []);
    assert.deepEqual(
      (await keysOf(u.token)).sort(),
      [ascii512, multibyte512, four512, '_', '_x', 'a__b', '_ _'].sort(),
    );
  });

  test('a value of exactly 1 MiB of JSON is stored; one byte more is 413 and changes nothing', async () => {
    const u = await newUser({ tag: 'kvbig' });
    // A JSON string serialises with its two quotes.
    const largest = 'a'.repeat(MiB - 2);
    assert.equal(JSON.stringify(largest).length, MiB);
    const res = expectStatus(await put(u.token, 'big', largest), 200);
    assert.equal(res.json.value.length, MiB - 2);
    assert.equal((await valueOf(u.token, 'big')).length, MiB - 2);

    const over = `b${largest}`;
    expectStatus(await put(u.token, 'big', over), 413, 'payload_too_large');
    expectStatus(await put(u.token, 'other', over), 413, 'payload_too_large');
    expectStatus(await call('POST', '/data', { token: u.token, json: { key: 'other', value: over } }), 413, 'payload_too_large');
    // The value is measured as compact JSON, not as sent: whitespace around it does not count.
    const padded = (value) => `${' '.repeat(500)}${JSON.stringify(value)}\n${' '.repeat(500)}`;
    const spaced = expectStatus(await call('PUT', kvPath('spaced'), { token: u.token, raw: padded(largest), headers: JSON_HEADERS }), 200);
    assert.equal(spaced.json.value.length, MiB - 2);
    expectStatus(await call('PUT', kvPath('other'), { token: u.token, raw: padded(over), headers: JSON_HEADERS }), 413, 'payload_too_large');
    // A body far above the limit is refused before it is read whole.
    expectStatus(await call('PUT', kvPath('other'), { token: u.token, raw: `"${'c'.repeat(4 * MiB)}"`, headers: JSON_HEADERS, retryReset: 2 }), 413, 'payload_too_large');
    // Nothing of the refused writes was stored.
    assert.equal((await valueOf(u.token, 'big'))[0], 'a');
    expectStatus(await get(u.token, 'other'), 404, 'not_found');
    assert.deepEqual(await keysOf(u.token), ['big', 'spaced']);
    // Through /data, the same largest value fits (the body limit leaves room for the key).
    const data = expectStatus(await call('POST', '/data', { token: u.token, json: { key: 'compat-big', value: largest } }), 200);
    assert.equal(data.json.data.value.length, MiB - 2);
  });

  test('bad bodies: malformed JSON 400, wrong content type 415, too deep 400; nothing is stored', async () => {
    const u = await newUser({ tag: 'kvbody' });
    for (const raw of ['{', '', 'undefined', "{'a':1}", '[1,]', '{"a":1}x', 'NaN']) {
      expectStatus(await call('PUT', kvPath('k'), { token: u.token, raw, headers: JSON_HEADERS }), 400, 'invalid_json');
      expectStatus(await call('POST', '/data', { token: u.token, raw, headers: JSON_HEADERS }), 400, 'invalid_json');
    }
    const notUtf8 = new Uint8Array([0x22, 0xff, 0xfe, 0x22]); // "\xff\xfe"
    expectStatus(await call('PUT', kvPath('k'), { token: u.token, raw: notUtf8, headers: JSON_HEADERS }), 400, 'invalid_json');
    for (const headers of [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }]) {
      expectStatus(await call('PUT', kvPath('k'), { token: u.token, raw: '1', headers }), 415, 'unsupported_media_type');
      expectStatus(await call('POST', '/data', { token: u.token, raw: '{"key":"k","value":1}', headers }), 415, 'unsupported_media_type');
    }
    // A parameter on the media type is fine.
    await putOk(u.token, 'charset', 1);
    expectStatus(await call('PUT', kvPath('k2'), { token: u.token, raw: '2', headers: { 'content-type': 'application/json; charset=utf-8' } }), 200);
    // Nesting is bounded: 100 levels are a value, 1000 are refused without harm.
    const nested = (n) => '['.repeat(n) + ']'.repeat(n);
    expectStatus(await call('PUT', kvPath('deep'), { token: u.token, raw: nested(100), headers: JSON_HEADERS }), 200);
    expectStatus(await call('PUT', kvPath('deeper'), { token: u.token, raw: nested(1000), headers: JSON_HEADERS }), 400, 'invalid_json');
    assert.deepEqual(await keysOf(u.token), ['charset', 'deep', 'k2']);
    // The object still answers.
    assert.equal(await valueOf(u.token, 'k2'), 2);
  });

  test('listing: sorted by UTF-8 bytes, and ?prefix= matches exactly (% and _ are literal)', async () => {
    const u = await newUser({ tag: 'kvlist' });
    const keys = ['b', 'app/b', 'app/a', 'app%', 'app_x', 'apple', 'App', 'a b', '\u{1F600}', '\uFFFD', '\u00e9'];
    for (const key of keys) await putOk(u.token, key, 1);
    // Code point order (UTF-8 bytes), not UTF-16 order: U+FFFD comes before U+1F600.
    assert.deepEqual(await keysOf(u.token), ['App', 'a b', 'app%', 'app/a', 'app/b', 'app_x', 'apple', 'b', '\u00e9', '\uFFFD', '\u{1F600}']);
    assert.deepEqual(await keysOf(u.token, ''), await keysOf(u.token));
    assert.deepEqual(await keysOf(u.token, 'app/'), ['app/a', 'app/b']);
    assert.deepEqual(await keysOf(u.token, 'app%'), ['app%']);
    assert.deepEqual(await keysOf(u.token, 'app_'), ['app_x']);
    assert.deepEqual(await keysOf(u.token, '%'), []);
    assert.deepEqual(await keysOf(u.token, '_'), []);
    assert.deepEqual(await keysOf(u.token, 'app'), ['app%', 'app/a', 'app/b', 'app_x', 'apple']);
    assert.deepEqual(await keysOf(u.token, 'A'), ['App']);
    assert.deepEqual(await keysOf(u.token, 'pp'), []);
    assert.deepEqual(await keysOf(u.token, '\u{1F600}'), ['\u{1F600}']);
    assert.deepEqual(await keysOf(u.token, 'nothing'), []);
    // In a query string + is a space, as in any form encoding; %2B is a plus.
    const raw = async (query) => expectStatus(await call('GET', `/api/kv?${query}`, { token: u.token }), 200).json.keys;
    assert.deepEqual(await raw('prefix=a+'), ['a b']);
    assert.deepEqual(await raw('prefix=a%2B'), []);
    assert.deepEqual(await raw('other=1&prefix=app%2F'), ['app/a', 'app/b']);
    expectStatus(await call('GET', '/api/kv?prefix=%FF', { token: u.token }), 400, 'invalid_query');
    expectStatus(await call('GET', '/api/kv?prefix=%zz', { token: u.token }), 400, 'invalid_query');
  });

  test('listing pages: ?limit=N (default and at most 1000) and ?after=K, with next absent on the last page', async () => {
    const u = await newUser({ tag: 'kvpage' });
    const keys = Array.from({ length: 1003 }, (_, i) => `p${String(i).padStart(4, '0')}`);
    // In parallel batches: 1003 puts one by one would be slow.
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => putOk(u.token, k, i)));
    await putOk(u.token, 'q', 1);
    const list = async (query) => expectStatus(await call('GET', `/api/kv?${query}`, { token: u.token }), 200).json;
    const first = await list('prefix=p');
    assert.deepEqual(first.keys, keys.slice(0, 1000), 'the default page is 1000 keys');
    assert.equal(first.next, 'p0999');
    const last = await list(`prefix=p&after=${first.next}`);
    assert.deepEqual(last, { keys: keys.slice(1000) }, 'no next on the last page');
    const small = await list('limit=2&after=p1001');
    assert.deepEqual(small, { keys: ['p1002', 'q'] }, 'an exact fit is the last page');
    const two = await list('limit=2');
    assert.deepEqual(two, { keys: ['p0000', 'p0001'], next: 'p0001' });
    assert.equal((await list('limit=1000')).keys.length, 1000);
    for (const bad of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'limit=']) {
      expectStatus(await call('GET', `/api/kv?${bad}`, { token: u.token }), 400, 'invalid_query');
    }
  });

  test('/data: the compatibility pair shares the store with /api/kv', async () => {
    const u = await newUser({ tag: 'kvdata' });
    const posted = expectStatus(await call('POST', '/data', { token: u.token, json: { key: 'compat', value: { x: [1, 2] } } }), 200);
    assert.deepEqual(posted.json, { ok: true, data: { key: 'compat', value: { x: [1, 2] } } });
    assert.deepEqual(expectStatus(await call('GET', '/data?key=compat', { token: u.token }), 200).json, { ok: true, data: { x: [1, 2] } });
    assert.deepEqual(await valueOf(u.token, 'compat'), { x: [1, 2] });
    await putOk(u.token, 'a/b c', 'from kv');
    assert.deepEqual(expectStatus(await call('GET', `/data?key=${encodeURIComponent('a/b c')}`, { token: u.token }), 200).json, { ok: true, data: 'from kv' });
    assert.deepEqual(expectStatus(await call('GET', '/data?key=a%2Fb+c', { token: u.token }), 200).json.data, 'from kv');
    // null is a value; a missing value is not.
    expectStatus(await call('POST', '/data', { token: u.token, json: { key: 'nothing', value: null } }), 200);
    assert.deepEqual(expectStatus(await call('GET', '/data?key=nothing', { token: u.token }), 200).json, { ok: true, data: null });
    // Keys the path cannot carry (the URL resolves . and ..) can be reached here.
    for (const key of ['.', '..']) {
      expectStatus(await call('POST', '/data', { token: u.token, json: { key, value: key } }), 200);
      assert.equal(expectStatus(await call('GET', `/data?key=${key}`, { token: u.token }), 200).json.data, key);
    }
    expectStatus(await call('GET', '/data?key=missing', { token: u.token }), 404, 'not_found');
    expectStatus(await call('GET', '/data', { token: u.token }), 400, 'invalid_query');
    expectStatus(await call('GET', '/data?other=compat', { token: u.token }), 400, 'invalid_query');
    expectStatus(await call('GET', '/data?key=%FF', { token: u.token }), 400, 'invalid_query');
    expectFieldError(await call('POST', '/data', { token: u.token, json: { key: 'k' } }), 'value');
    const both = expectFieldError(await call('POST', '/data', { token: u.token, json: {} }), 'key');
    expectFieldError(both, 'value');
    for (const key of [5, null, ['k'], { k: 1 }]) {
      expectFieldError(await call('POST', '/data', { token: u.token, json: { key, value: 1 } }), 'key');
    }
    for (const body of [[], 'k', 5, null]) {
      expectStatus(await call('POST', '/data', { token: u.token, json: body }), 400, 'invalid_json');
    }
    assert.deepEqual(await keysOf(u.token), ['.', '..', 'a/b c', 'compat', 'nothing']);
  });

  test('every KV endpoint needs a live session, and other methods are 405', async () => {
    const u = await newUser({ tag: 'kvauth' });
    await putOk(u.token, 'k', 1);
    const endpoints = [
      ['GET', '/api/kv'], ['GET', '/api/kv/k'], ['PUT', '/api/kv/k', 2], ['DELETE', '/api/kv/k'],
      ['GET', '/data?key=k'], ['POST', '/data', { key: 'k', value: 2 }],
    ];
    for (const [method, path, json] of endpoints) {
      expectStatus(await call(method, path, { json }), 401, 'unauthenticated');
      expectStatus(await call(method, path, { json, token: 'not.a.jwt' }), 401, 'invalid_token');
    }
    expectStatus(await call('POST', '/api/logout', { token: u.token }), 200);
    for (const [method, path, json] of endpoints) {
      expectStatus(await call(method, path, { json, token: u.token }), 401, 'session_revoked');
    }
    const again = await call('POST', '/api/login', { json: { email: u.email, password: PASSWORD } });
    const token = expectStatus(again, 200).json.token;
    // None of the refused requests changed the value.
    assert.equal(await valueOf(token, 'k'), 1);
    for (const [method, path] of [['POST', '/api/kv'], ['DELETE', '/api/kv'], ['POST', '/api/kv/k'], ['PATCH', '/api/kv/k'], ['PUT', '/data'], ['DELETE', '/data']]) {
      expectStatus(await call(method, path, { token, json: 1 }), 405, 'method_not_allowed');
    }
  });

  test('CSRF: cookie-authenticated writes need an allowed Origin; reads do not', async () => {
    const u = await newUser({ tag: 'kvcsrf' });
    const cookie = `token=${u.token}`;
    await putOk(u.token, 'k', 'original');
    for (const origin of [undefined, EVIL_ORIGIN, 'null', 'http://localhost:5174']) {
      expectStatus(await call('PUT', kvPath('k'), { cookie, origin, json: 'forged' }), 403, 'csrf_rejected');
      expectStatus(await call('PUT', kvPath('new'), { cookie, origin, json: 'forged' }), 403, 'csrf_rejected');
      expectStatus(await call('DELETE', kvPath('k'), { cookie, origin }), 403, 'csrf_rejected');
      expectStatus(await call('POST', '/data', { cookie, origin, json: { key: 'k', value: 'forged' } }), 403, 'csrf_rejected');
    }
    assert.equal(await valueOf(u.token, 'k'), 'original');
    assert.deepEqual(await keysOf(u.token), ['k']);
    // Reads by cookie work from any origin.
    for (const origin of [undefined, EVIL_ORIGIN]) {
      assert.equal(expectStatus(await call('GET', kvPath('k'), { cookie, origin }), 200).json.value, 'original');
      assert.deepEqual(expectStatus(await call('GET', '/api/kv', { cookie, origin }), 200).json.keys, ['k']);
      assert.equal(expectStatus(await call('GET', '/data?key=k', { cookie, origin }), 200).json.data, 'original');
    }
    // From the allowed origins, the same writes go through.
    expectStatus(await call('PUT', kvPath('k'), { cookie, origin: ALLOWED_ORIGIN, json: 'changed' }), 200);
    expectStatus(await call('POST', '/data', { cookie, origin: BASE, json: { key: 'd', value: 1 } }), 200);
    expectStatus(await call('DELETE', kvPath('d'), { cookie, origin: BASE }), 200);
    assert.equal(await valueOf(u.token, 'k'), 'changed');
    assert.deepEqual(await keysOf(u.token), ['k']);
    // A bearer token needs no Origin, whatever Origin it carries.
    expectStatus(await call('PUT', kvPath('k'), { token: u.token, origin: EVIL_ORIGIN, json: 'bearer' }), 200);
    assert.equal(await valueOf(u.token, 'k'), 'bearer');
  });

  test('each user has their own store: B never sees or changes A\'s keys', async () => {
    const a = await newUser({ tag: 'kvisoA' });
    const b = await newUser({ tag: 'kvisoB' });
    await putOk(a.token, 'secret', 'of A');
    await putOk(a.token, 'shared/name', 'A');
    expectStatus(await get(b.token, 'secret'), 404, 'not_found');
    expectStatus(await call('GET', '/data?key=secret', { token: b.token }), 404, 'not_found');
    assert.deepEqual(await keysOf(b.token), []);
    assert.deepEqual(await keysOf(b.token, 'shared'), []);
    // B's delete of the same key deletes nothing of A's; B's put makes B's own key.
    expectStatus(await del(b.token, 'secret'), 200);
    await putOk(b.token, 'shared/name', 'B');
    assert.equal(await valueOf(a.token, 'secret'), 'of A');
    assert.equal(await valueOf(a.token, 'shared/name'), 'A');
    assert.equal(await valueOf(b.token, 'shared/name'), 'B');
    assert.deepEqual(await keysOf(a.token), ['secret', 'shared/name']);
    assert.deepEqual(await keysOf(b.token), ['shared/name']);
  });

  test('after the account is deleted, a new signup with the same email starts with an empty store', async () => {
    const u = await newUser({ tag: 'kvdelete' });
    await putOk(u.token, 'k', 'before');
    expectStatus(await call('POST', '/data', { token: u.token, json: { key: 'd', value: 1 } }), 200);
    expectStatus(await call('DELETE', '/api/account', { token: u.token, json: { password: PASSWORD } }), 200);
    expectStatus(await get(u.token, 'k'), 401, 'session_revoked');
    const again = expectStatus(await call('POST', '/api/signup', { json: { email: u.email, password: 'a new account password' } }), 201);
    const token = again.json.token;
    assert.deepEqual(await keysOf(token), []);
    expectStatus(await get(token, 'k'), 404, 'not_found');
    expectStatus(await call('GET', '/data?key=d', { token }), 404, 'not_found');
    // And the new store works.
    await putOk(token, 'k', 'after');
    assert.deepEqual(await keysOf(token), ['k']);
  });
});

