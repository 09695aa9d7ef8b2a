import { BurnedInHold, FLAG_BURNED_IN_ANNOTATION, FLAG_REVIEW_BURNED_IN, heldFlags, isHeld, PrivacyDecision } from './burned-in';

describe('privacy hold of images that may carry burned-in text', () => {
  it.each([
    // [flags, decision, hold, held?]
    [[FLAG_BURNED_IN_ANNOTATION], null, 'declared', true],
    [[FLAG_REVIEW_BURNED_IN], null, 'declared', false],
    [[FLAG_REVIEW_BURNED_IN], null, 'all', true],
    [[FLAG_BURNED_IN_ANNOTATION], null, 'none', false],
    [[], null, 'all', false],
    [[FLAG_BURNED_IN_ANNOTATION], 'clear', 'declared', false],
    [[FLAG_REVIEW_BURNED_IN], 'clear', 'all', false],
    // Excluded by a manager: held whatever the project's setting and flags say.
    [[], 'exclude', 'none', true],
    [[FLAG_BURNED_IN_ANNOTATION], 'exclude', 'declared', true],
  ] as [string[], PrivacyDecision | null, BurnedInHold, boolean][])('flags %j, decision %s, hold %s -> held %s', (flags, decision, hold, held) => {
    expect(isHeld(flags, decision, hold)).toBe(held);
  });

  it.each([
    ['declared', [FLAG_BURNED_IN_ANNOTATION]],
    ['all', [FLAG_BURNED_IN_ANNOTATION, FLAG_REVIEW_BURNED_IN]],
    ['none', []],
  ] as [BurnedInHold, string[]][])('hold %s holds the flags %j', (hold, flags) => {
    expect(heldFlags(hold)).toEqual(flags);
  });
});
