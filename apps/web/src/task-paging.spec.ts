import { addTaskPage, searchWithState, stateFromSearch, taskCountText, taskPageQuery } from './task-paging';

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: `t${from + i}` }));

describe('taskPageQuery', () => {
  it.each([
    ['the first page of all states', 100, '', null, { limit: '101' }],
    ['the first page of one state', 100, 'failed', null, { limit: '101', state: 'failed' }],
    ['a next page keeps the state filter', 100, 'ready', 't99', { limit: '101', state: 'ready', afterId: 't99' }],
  ] as [string, number, string, string | null, Record<string, string>][])('%s', (_name, size, state, afterId, expected) => {
    expect(taskPageQuery(size, state, afterId)).toEqual(expected);
  });
});

describe('addTaskPage', () => {
  it.each([
    ['a first page with a row beyond it: more, after its last shown row', null, rows(0, 101), { shown: 100, more: true, afterId: 't99' }],
    ['exactly a page: no more', null, rows(0, 100), { shown: 100, more: false, afterId: null }],
    ['an empty list', null, [], { shown: 0, more: false, afterId: null }],
    ['a second, last page is added after the first', { rows: rows(0, 100), more: true, afterId: 't99' }, rows(100, 10), { shown: 110, more: false, afterId: null }],
    ['a second page with more after it', { rows: rows(0, 100), more: true, afterId: 't99' }, rows(100, 101), { shown: 200, more: true, afterId: 't199' }],
  ] as [string, { rows: { id: string }[]; more: boolean; afterId: string | null } | null, { id: string }[], { shown: number; more: boolean; afterId: string | null }][])('%s', (_name, shown, page, expected) => {
    const r = addTaskPage(shown, page, 100);
    expect({ shown: r.rows.length, more: r.more, afterId: r.afterId }).toEqual(expected);
    expect(r.rows.map((t) => t.id)).toEqual(rows(0, expected.shown).map((t) => t.id));
  });
});

describe('taskCountText', () => {
  const byState = [{ state: 'ready', n: 105 }, { state: 'failed', n: 5 }];
  it.each([
    ['a page of all', 100, byState, '', '100 of 110 tasks'],
    ['all shown', 110, byState, '', 'All 110 tasks'],
    ['filtered on a state', 5, byState, 'failed', 'All 5 failed tasks'],
    ['a state with none', 0, byState, 'in_annotation', 'All 0 in annotation tasks'],
    ['the only task of a state', 1, [{ state: 'review', n: 1 }], 'review', 'The one review task'],
    ['one shown of more', 1, byState, 'failed', '1 of 5 failed tasks'],
    ['one shown, without the counts', 1, null, '', '1 task shown'],
    ['without the counts', 100, null, '', '100 tasks shown'],
  ] as [string, number, { state: string; n: number }[] | null, string, string][])('%s', (_name, shown, counts, state, expected) => {
    expect(taskCountText(shown, counts, state)).toBe(expected);
  });
});

describe('stateFromSearch', () => {
  const states = ['ready', 'in_annotation', 'failed'];
  it.each([
    ['no query: all states', '', ''],
    ['a known state', '?state=failed', 'failed'],
    ['a known state among other parameters', '?x=1&state=in_annotation', 'in_annotation'],
    ['an unknown state: all states', '?state=bogus', ''],
    ['an empty state: all states', '?state=', ''],
    ['a state differing in case is not one', '?state=READY', ''],
  ])('%s', (_name, search, expected) => {
    expect(stateFromSearch(search, states)).toBe(expected);
  });
});

describe('searchWithState', () => {
  it.each([
    ['a state on an empty query', '', 'review', '?state=review'],
    ['a state replaces the one there', '?state=ready', 'failed', '?state=failed'],
    ['all states removes it', '?state=ready', '', ''],
    ['other parameters are kept', '?x=1&state=ready', 'failed', '?x=1&state=failed'],
    ['other parameters are kept when it is removed', '?state=ready&x=1', '', '?x=1'],
  ])('%s', (_name, search, state, expected) => {
    expect(searchWithState(search, state)).toBe(expected);
  });
});
