// Bad bodies and paths get a clear JSON error with the right status, and change nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PASSWORD, call, postChunked, expectErrorShape, expectFieldError, expectStatus, login, newUser, uniqueEmail } from '../lib/api.mjs';

const JSON_HEADERS = { 'content-type': 'application/json' };
const KiB = 1024;

/** Internals that must never reach a client. */
const assertNoInternals = (res) => {
  assert.doesNotMatch(res.text, /panicked|backtrace|\.rs:\d|src\/|wasm|SELECT |INSERT |UPDATE |sqlite|JWT_SECRET/i, `internals in ${res.text}`);
};

describe('bad bodies on signup and login', () => {
  for (const path of ['/api/signup', '/api/login']) {
    test(`${path}: malformed JSON and non-objects are 400 invalid_json`, async () => {
      for (const raw of ['{', '{"email":', '{"email":"a@b.co","password":"x",}', '[]', '"x"', '5', 'null', 'true', '']) {
        const res = expectStatus(await call('POST', path, { raw, headers: JSON_HEADERS }), 400, 'invalid_json');
        assert.deepEqual(res.setCookies, []);
        assertNoInternals(res);
      }
      const notUtf8 = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]); // {"\xff\xfe":1}
      expectStatus(await call('POST', path, { raw: notUtf8, headers: JSON_HEADERS }), 400, 'invalid_json');
    });

    test(`${path}: a mistyped email and a too-short password are both listed`, async () => {
      const res = expectStatus(await call('POST', path, { json: { email: 5, password: 'short' } }), 400, 'validation_failed');
      const details = res.json.error.details;
      assert.deepEqual(Object.keys(details).sort(), ['email', 'password'], JSON.stringify(details));
      assert.equal(details.email[0], 'must be a string');
      assert.deepEqual(res.setCookies, []);
    });

    test(`${path}: missing, mistyped and invalid fields are 400 validation_failed naming the field`, async () => {
      const cases = [
        [{ password: PASSWORD }, 'email'],
        [{ email: uniqueEmail() }, 'password'],
        [{ email: null, password: PASSWORD }, 'email'],
        [{ email: 5, password: PASSWORD }, 'email'],
        [{ email: ['a@b.co'], password: PASSWORD }, 'email'],
        [{ email: uniqueEmail(), password: ['x'] }, 'password'],
        [{ email: uniqueEmail(), password: 12345678 }, 'password'],
        [{ email: 'not-an-email', password: PASSWORD }, 'email'],
        [{ email: 'a b@example.com', password: PASSWORD }, 'email'],
        [{ email: '@example.com', password: PASSWORD }, 'email'],
        [{ email: 'nobody@', password: PASSWORD }, 'email'],
        [{ email: '   ', password: PASSWORD }, 'email'],
        [{ email: `${'a'.repeat(250)}@example.com`, password: PASSWORD }, 'email'],
        [{ email: uniqueEmail(), password: '1234567' }, 'password'],
        [{ email: uniqueEmail(), password: '' }, 'password'],
        [{ email: uniqueEmail(), password: '\u00e9'.repeat(7) }, 'password'],
        [{ email: uniqueEmail(), password: 'a'.repeat(1025) }, 'password'],
      ];
      for (const [body, field] of cases) {
        const res = expectFieldError(await call('POST', path, { json: body }), field);
        assert.deepEqual(res.setCookies, []);
      }
      // Both fields wrong: both are named.
      const both = expectFieldError(await call('POST', path, { json: {} }), 'email');
      expectFieldError(both, 'password');
    });

    // A 413 is decided before the body is parsed, so before any password is hashed. (No timing
    // assertion here: under a loaded CI machine any fixed bound is a flake, and speed belongs in
    // the benchmarks.)
    test(`${path}: a 1 MB password, a 10 MB body and a chunked 1 MB body are 413`, async () => {
      expectStatus(await call('POST', path, { json: { email: uniqueEmail(), password: 'a'.repeat(1_000_000) }, retryReset: 4 }), 413, 'payload_too_large');
      expectStatus(await call('POST', path, { raw: 'x'.repeat(10 * KiB * KiB), headers: JSON_HEADERS, retryReset: 4 }), 413, 'payload_too_large');
      // Chunked, with no Content-Length: only counting while reading can stop it.
      expectStatus(await postChunked(path, { total: KiB * KiB }), 413, 'payload_too_large');
    });

    test(`${path}: a body under the 64 KiB limit is read and validated, not refused as too large`, async () => {
      const res = await call('POST', path, { json: { email: uniqueEmail(), password: 'a'.repeat(60 * KiB) } });
      expectFieldError(res, 'password');
    });

    test(`${path}: a body that is not application/json is 415`, async () => {
      const body = JSON.stringify({ email: uniqueEmail(), password: PASSWORD });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'text/json']) {
        expectStatus(await call('POST', path, { raw: body, headers: { 'content-type': type } }), 415, 'unsupported_media_type');
      }
      // fetch sends a string as text/plain and bytes with no Content-Type at all.
      expectStatus(await call('POST', path, { raw: body }), 415, 'unsupported_media_type');
      expectStatus(await call('POST', path, { raw: new TextEncoder().encode(body) }), 415, 'unsupported_media_type');
      const form = `email=${encodeURIComponent(uniqueEmail())}&password=${encodeURIComponent(PASSWORD)}`;
      expectStatus(await call('POST', path, { raw: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
    });
  }

  test('application/json with a charset parameter is accepted', async () => {
    const u = await newUser({ tag: 'charset' });
    const res = await call('POST', '/api/login', {
      raw: JSON.stringify({ email: u.email, password: PASSWORD }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expectStatus(res, 200);
    assert.equal(res.json.user.id, u.user.id);
  });

  test('passwords of exactly 8 and 1024 characters are accepted, counted in characters not bytes', async () => {
    const short = await newUser({ tag: 'pw8', password: 'a'.repeat(8) });
    await login(short.email, { password: 'a'.repeat(8) });
    const long = '\u00e9'.repeat(1024); // 2048 bytes of UTF-8
    const u = await newUser({ tag: 'pw1024', password: long });
    await login(u.email, { password: long });
    expectStatus(await call('POST', '/api/login', { json: { email: u.email, password: '\u00e9'.repeat(1023) } }), 401, 'invalid_credentials');
  });

  test('a rejected signup creates nothing: the same email can sign up afterwards', async () => {
    const email = uniqueEmail('rejected');
    expectFieldError(await call('POST', '/api/signup', { json: { email, password: 'short' } }), 'password');
    expectStatus(await call('POST', '/api/signup', { json: { email, password: 'a'.repeat(1_000_000) }, retryReset: 4 }), 413, 'payload_too_large');
    expectStatus(await call('POST', '/api/signup', { raw: JSON.stringify({ email, password: PASSWORD }) }), 415, 'unsupported_media_type');
    expectStatus(await call('POST', '/api/signup', { raw: `{"email":"${email}","password":`, headers: JSON_HEADERS }), 400, 'invalid_json');
    expectStatus(await call('POST', '/api/login', { json: { email, password: PASSWORD } }), 401, 'invalid_credentials');
    const res = expectStatus(await call('POST', '/api/signup', { json: { email, password: PASSWORD } }), 201);
    assert.equal(res.json.user.email, email);
  });
});

describe('paths and methods', () => {
  test('an unknown path under /api is 404 not_found in JSON, with or without a token', async () => {
    const cases = [
      ['GET', '/api/no-such-thing'], ['POST', '/api/no-such-thing'], ['POST', '/api/sessions/a/b'],
      ['GET', '/api/sessions/'], ['GET', '/api/me/'], ['POST', '/api/signup/'], ['GET', '/api/ME'], ['GET', '/api/'],
    ];
    for (const [method, path] of cases) {
      const res = expectStatus(await call(method, path), 404, 'not_found');
      assertNoInternals(res);
    }
    const u = await newUser({ tag: 'notfound' });
    expectStatus(await call('GET', '/api/no-such-thing', { token: u.token }), 404, 'not_found');
  });

  test('a known path with another method is 405 method_not_allowed in JSON', async () => {
    const cases = [
      ['GET', '/api/login'], ['GET', '/api/signup'], ['PUT', '/api/signup'], ['GET', '/api/logout'],
      ['GET', '/api/refresh'], ['DELETE', '/api/me'], ['POST', '/api/me'], ['POST', '/api/sessions'],
      ['DELETE', '/api/sessions'], ['GET', '/api/sessions/revoke-others'], ['GET', '/api/password/change'],
      ['PATCH', '/api/logout'],
    ];
    for (const [method, path] of cases) {
      const res = expectStatus(await call(method, path), 405, 'method_not_allowed');
      assertNoInternals(res);
    }
  });

  test('error bodies are the API shape and carry no internals', async () => {
    for (const res of [
      await call('POST', '/api/login', { raw: '{', headers: JSON_HEADERS }),
      await call('GET', '/api/me', { token: 'x.y.z' }),
      await call('POST', '/api/refresh', { json: { refreshToken: 'urt.' + 'f'.repeat(64) + '.' + 'A'.repeat(43) } }),
    ]) {
      expectErrorShape(res);
      assert.ok(res.status >= 400 && res.status < 500, `${res.status}: ${res.text}`);
      assertNoInternals(res);
    }
  });
});
