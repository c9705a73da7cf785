// Backoff math and query strings: pure functions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, DEFAULT_BACKOFF, queryString } from '../../dist/index.js';

describe('backoffDelay', () => {
  test('full jitter under an exponential ceiling: base 500 ms doubling, capped at 30 s', () => {
    const top = () => 0.999999;
    const ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000];
    assert.deepEqual(
      ceilings.map((_, attempt) => backoffDelay(attempt, {}, top)),
      ceilings.map((c) => Math.floor(c * 0.999999)),
    );
    assert.deepEqual(DEFAULT_BACKOFF, { baseDelayMs: 500, maxDelayMs: 30000 });
    // The bottom of the range is 0 (full jitter, not "equal jitter").
    for (let attempt = 0; attempt < 10; attempt++) assert.equal(backoffDelay(attempt, {}, () => 0), 0);
    // Halfway.
    assert.equal(backoffDelay(3, {}, () => 0.5), 2000);
  });

  test('options change base and cap; huge attempts stay capped and finite', () => {
    assert.equal(backoffDelay(0, { baseDelayMs: 100, maxDelayMs: 1000 }, () => 0.5), 50);
    assert.equal(backoffDelay(20, { baseDelayMs: 100, maxDelayMs: 1000 }, () => 0.5), 500);
    assert.equal(backoffDelay(5000, {}, () => 0.5), 15000);
    assert.equal(backoffDelay(-3, {}, () => 0.5), 250);
  });

  test('with Math.random every delay lies in [0, ceiling)', () => {
    for (let i = 0; i < 1000; i++) {
      const attempt = i % 12;
      const d = backoffDelay(attempt);
      assert.ok(d >= 0 && d < Math.min(30000, 500 * 2 ** attempt), `${attempt}: ${d}`);
    }
  });
});

describe('queryString', () => {
  test('every value is percent-encoded: no value can add or change a parameter', () => {
    const q = queryString({ where: [['title', 'eq', 'a&limit=1000#x y:z%+ü']], limit: 5, offset: 10 });
    assert.equal(q, `?where=${encodeURIComponent('title:eq:a&limit=1000#x y:z%+ü')}&limit=5&offset=10`);
    const params = new URLSearchParams(q.slice(1));
    assert.deepEqual([...params.keys()], ['where', 'limit', 'offset']);
    assert.equal(params.get('where'), 'title:eq:a&limit=1000#x y:z%+ü');
  });

  test('where as triples or an object, orderBy as names or pairs, in as a JSON array', () => {
    const q = queryString({
      where: [['done', 'eq', false], ['createdAt', 'gte', 5], ['title', 'in', ['a,b', 'c']], ['note', 'eq', null]],
      orderBy: ['createdAt', ['title', 'desc']],
    });
    assert.deepEqual(new URLSearchParams(q.slice(1)).getAll('where'), ['done:eq:false', 'createdAt:gte:5', 'title:in:["a,b","c"]', 'note:eq:null']);
    assert.deepEqual(new URLSearchParams(q.slice(1)).getAll('orderBy'), ['createdAt:asc', 'title:desc']);
    assert.equal(queryString({ where: { done: true, title: 'x' } }), '?where=done%3Aeq%3Atrue&where=title%3Aeq%3Ax');
    assert.equal(queryString({}), '');
  });
});
