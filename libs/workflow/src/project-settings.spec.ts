import { ageBoost, mergeSettings, parseProjectSettings } from './project-settings';

const DAY = 86_400;

describe('ageBoost', () => {
  it.each([
    // [age in seconds, points per day, cap, expected]
    [0, 10, 100, 0],
    [-5, 10, 100, 0], // clock skew: a task "from the future" earns nothing
    [NaN, 10, 100, 0],
    [DAY - 1, 10, 100, 9],
    [DAY, 10, 100, 10],
    [DAY / 10, 10, 100, 1],
    [DAY / 10 - 1, 10, 100, 0],
    [3 * DAY, 24, 100, 72], // one point an hour
    [30 * DAY, 10, 100, 100], // capped
    [30 * DAY, 10, 0, 0], // cap 0: no ageing
    [30 * DAY, 0, 100, 0], // 0 points a day: no ageing
  ])('%d s at %d points/day capped at %d -> %d', (age, perDay, cap, expected) => {
    expect(ageBoost(age, { agePointsPerDay: perDay, ageMaxPoints: cap })).toBe(expected);
  });
});

describe('project settings: routing', () => {
  it('defaults to 10 points a day up to 100', () => {
    expect(parseProjectSettings({}).routing).toEqual({ agePointsPerDay: 10, ageMaxPoints: 100 });
  });
  it.each([
    [{ agePointsPerDay: -1 }, 'agePointsPerDay'],
    [{ agePointsPerDay: 1.5 }, 'agePointsPerDay'],
    [{ ageMaxPoints: 5000 }, 'ageMaxPoints'],
  ])('refuses %j naming the field', (routing, field) => {
    expect(() => parseProjectSettings({ routing })).toThrow(field);
  });
});

describe('project settings: privacy hold', () => {
  it("holds every image that may carry burned-in text by default ('all': ultrasound nearly always has some)", () => {
    expect(parseProjectSettings({}).deid.burnedInHold).toBe('all');
    expect(parseProjectSettings({ deid: { burnedInHold: 'declared' } }).deid.burnedInHold).toBe('declared');
  });
});

describe('mergeSettings', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]>([
    ['one field of a group changes only that field', { quality: { reads: 2, agreementThreshold: 0.99, leaseSeconds: 30 } }, { quality: { leaseSeconds: 10 } }, { quality: { reads: 2, agreementThreshold: 0.99, leaseSeconds: 10 } }],
    ['other groups are kept', { quality: { reads: 2 }, deid: { burnedInHold: 'all' } }, { deid: { burnedInHold: 'none' } }, { quality: { reads: 2 }, deid: { burnedInHold: 'none' } }],
    ['lists are replaced, not merged', { prelabelModels: ['a', 'b'], allowedModalities: ['CT'] }, { allowedModalities: ['MR'] }, { prelabelModels: ['a', 'b'], allowedModalities: ['MR'] }],
    ['a group not stored yet is taken as given', {}, { quality: { reads: 3 } }, { quality: { reads: 3 } }],
    ['a value replaces a group', { split: { policy: 'series' } }, { split: null }, { split: null }],
    ['a map is replaced: an entry left out is removed', { requiredSkills: { CT: ['ct'], MR: ['neuro-mr'] } }, { requiredSkills: { CT: ['ct'] } }, { requiredSkills: { CT: ['ct'] } }],
    ['the split group merges too', { split: { policy: 'frames', framesPerTask: 20 } }, { split: { framesPerTask: 50 } }, { split: { policy: 'frames', framesPerTask: 50 } }],
  ])('%s', (_name, stored, change, expected) => {
    expect(mergeSettings(stored, change)).toEqual(expected);
  });
});
