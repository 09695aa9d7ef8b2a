import { auditDetailsText, auditObjectText, auditPageQuery } from './audit-view';

const none = { action: '', actorId: '', objectId: '' };

describe('auditPageQuery', () => {
  it.each([
    ['the newest page, unfiltered', none, null, { order: 'desc', limit: '51' }],
    ['an older page keeps its filters', { action: 'task.lease', actorId: 'u1', objectId: '' }, '120', { order: 'desc', limit: '51', action: 'task.lease', actorId: 'u1', beforeId: '120' }],
    ['blank filters are none; values are trimmed', { action: '  ', actorId: '', objectId: ' t-9 ' }, null, { order: 'desc', limit: '51', objectId: 't-9' }],
  ] as [string, typeof none, string | null, Record<string, string>][])('%s', (_name, filters, beforeId, expected) => {
    expect(auditPageQuery(50, filters, beforeId)).toEqual(expected);
  });
});

describe('auditDetailsText', () => {
  it.each([
    ['nothing', {}, ''],
    ['no details at all', null, ''],
    ['pairs in their order', { from: 'ready', to: 'in_annotation' }, 'from: ready · to: in_annotation'],
    ['nested values as JSON, empty ones left out', { reason: '', kinds: ['annotation'], n: 2, gone: null }, 'kinds: ["annotation"] · n: 2'],
    ['long values cut', { comment: 'x'.repeat(200) }, `comment: ${'x'.repeat(79)}…`],
  ] as [string, Record<string, unknown> | null, string][])('%s', (_name, details, expected) => {
    expect(auditDetailsText(details)).toBe(expected);
  });
});

describe('auditObjectText', () => {
  it.each([
    ['a UUID is shortened', 'task', '3f2a9c1e-1111-2222-3333-444455556666', 'task 3f2a9c1e…'],
    ['underscores read as spaces', 'task_read', 'abc', 'task read abc'],
    ['no id', 'project', null, 'project'],
  ] as [string, string, string | null, string][])('%s', (_name, type, id, expected) => {
    expect(auditObjectText(type, id)).toBe(expected);
  });
});
