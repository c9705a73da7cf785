// Bad bodies and paths get a clear JSON error with the right status, and change nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PASSWORD, call, expectStatus, uniqueEmail } from '../lib/api.mjs';

const json = { 'content-type': 'application/json' };

describe('bad bodies on signup and login', () => {
  for (const path of ['/api/signup', '/api/login']) {
    test(`${path}: malformed JSON and non-objects are 400 invalid_json`, async () => {
      for (const raw of ['{', '{"email":', '[]', '"x"', '5', 'null']) {
        expectStatus(await call('POST', path, { raw, headers: json }), 400, 'invalid_json');
      }
    });

    test(`${path}: missing, mistyped and invalid fields are 400 validation_failed naming the field`, async () => {
      const cases = [
        [{ password: PASSWORD }, 'email'],
        [{ email: uniqueEmail() }, 'password'],
        [{ email: 5, password: PASSWORD }, 'email'],
        [{ email: uniqueEmail(), password: ['x'] }, 'password'],
        [{ email: 'not-an-email', password: PASSWORD }, 'email'],
        [{ email: uniqueEmail(), password: '1234567' }, 'password'],
        [{ email: uniqueEmail(), password: 'a'.repeat(1025) }, 'password'],
      ];
      for (const [body, field] of cases) {
        const res = expectStatus(await call('POST', path, { json: body }), 400, 'validation_failed');
        assert.ok(Array.isArray(res.json.error.details?.[field]) && res.json.error.details[field].length > 0,
          `details.${field} for ${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
        assert.equal(typeof res.json.error.details[field][0], 'string');
      }
    });

    test(`${path}: a 1 MB password and a 10 MB body are 413 before any hashing`, async () => {
      const started = Date.now();
      expectStatus(await call('POST', path, { json: { email: uniqueEmail(), password: 'a'.repeat(1_000_000) } }), 413, 'payload_too_large');
      expectStatus(await call('POST', path, { raw: 'x'.repeat(10 * 1024 * 1024), headers: json }), 413, 'payload_too_large');
      // Not a timing assertion on speed: 600k PBKDF2 rounds take far longer than this bound.
      assert.ok(Date.now() - started < 5000, 'oversized bodies must be refused without hashing');
    });

    test(`${path}: a body that is not application/json is 415`, async () => {
      const body = JSON.stringify({ email: uniqueEmail(), password: PASSWORD });
      expectStatus(await call('POST', path, { raw: body, headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
      expectStatus(await call('POST', path, { raw: body }), 415, 'unsupported_media_type');
    });
  }

  test('a rejected signup creates nothing: the same email can sign up afterwards', async () => {
    const email = uniqueEmail('rejected');
    expectStatus(await call('POST', '/api/signup', { json: { email, password: 'short' } }), 400, 'validation_failed');
    expectStatus(await call('POST', '/api/signup', { json: { email, password: 'a'.repeat(1_000_000) } }), 413);
    expectStatus(await call('POST', '/api/login', { json: { email, password: PASSWORD } }), 401, 'invalid_credentials');
    expectStatus(await call('POST', '/api/signup', { json: { email, password: PASSWORD } }), 201);
  });
});

describe('paths and methods', () => {
  test('an unknown path is 404 not_found in JSON', async () => {
    expectStatus(await call('GET', '/api/no-such-thing'), 404, 'not_found');
    expectStatus(await call('POST', '/api/sessions/a/b'), 404, 'not_found');
  });

  test('a known path with another method is 405 method_not_allowed', async () => {
    expectStatus(await call('GET', '/api/login'), 405, 'method_not_allowed');
    expectStatus(await call('DELETE', '/api/me'), 405, 'method_not_allowed');
  });
});
