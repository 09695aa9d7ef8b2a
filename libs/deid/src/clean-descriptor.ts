// The "C" (clean) action for descriptors: Clean Descriptors option (study/series description, protocol name...)
// and the "C" rows of Retain Patient Characteristics (allergies, patient state...).
//
// PS3.15 asks for values "of similar meaning known not to contain identifying information". Text cannot be
// rewritten safely by rule, so Contour implements clean conservatively: the value is KEPT UNCHANGED only when
// no token in it looks identifying, and is otherwise REPLACED WHOLE by the dummy text. A token looks
// identifying when it is (checked in this order):
//   1. an identifier of this very dataset: a component (2+ letters) of any person name in it (patient, other
//      names, physicians, operators...), or the patient ID, other patient IDs, accession number, study ID,
//      issuer of patient ID, institution name or address, station name (matched as whole words, any case);
//   2. a name marker: the PN component separator '^', an e-mail address, or an honorific (Dr, Mr, Mrs, Ms,
//      Miss, Prof) followed by a word;
//   3. a date: YYYYMMDD or YYYY-MM-DD / YYYY.MM.DD / YYYY/MM/DD with a plausible month and day, DD/MM/YYYY
//      and similar with any separator, a month name next to a number ("12 Jan", "Jan 2019"), or a stand-alone
//      year 1900-2099;
//   4. an ID or phone number: a run of 5 or more digits, or digits grouped like a phone number (555-1234,
//      +44 20 7946 0958).
// False positives (a harmless description replaced) are accepted; false negatives are what the rule minimises.
// Short protocol tokens such as "T1", "b1000", "3D", "t1_mpr_tra_gk_v4", "1.5T" pass.
//
// Names are matched in any script: a component of a person name counts when it has two letters or more, or one
// ideograph, kana or hangul syllable (a Chinese family name is often one character: 王^小明); components in those
// scripts, written without spaces, match anywhere in the text, the others as whole words.
//
// Narrative text about the patient (history, comments, state, allergies...: `narrative: true`) is held to more: the
// names of people and places it mentions are not in the dataset ("lives with wife Marge Bouvier at Springfield"),
// so such a value is kept only when it also has no capitalised word (a proper noun, in any script that has case; in
// capitals, any word of four letters or more: "SEEN BY LISA") and no word about family or residence. Most narrative
// is therefore replaced; what stays is terse clinical wording ("penicillin", "stable", "MI in 2 vessels"). Names
// in scripts without case (Chinese, Japanese...) that the dataset does not hold cannot be told apart this way.

export interface CleanVerdict {
  keep: boolean;
  /** Why the value was replaced (which rule and, for dataset identifiers, not the identifier itself). */
  reason?: string;
}

const MONTH = '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?';

const RULES: { re: RegExp; reason: string }[] = [
  { re: /\^/, reason: 'contains a person-name separator (^)' },
  { re: /[^\s@]+@[^\s@]+\.[a-z]{2,}/i, reason: 'contains an e-mail address' },
  { re: /\b(?:dr|mr|mrs|ms|miss|prof)\b\.?\s+[a-z]/i, reason: 'contains an honorific followed by a name' },
  { re: /\b(?:19|20)\d{2}([-./]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])\b/, reason: 'contains a date' },
  { re: /\b\d{1,2}[-./]\d{1,2}[-./](?:\d{4}|\d{2})\b/, reason: 'contains a date' },
  { re: new RegExp(`\\b\\d{1,2}\\s*[-/ ]?\\s*${MONTH}(?![a-z])|\\b${MONTH}\\s*[-/ ]?\\s*\\d{1,4}\\b`, 'i'), reason: 'contains a date' },
  { re: /(?<![\w.])(?:19|20)\d{2}(?![\w.])/, reason: 'contains a year' },
  { re: /\d{5,}/, reason: 'contains an ID-like number (5+ digits)' },
  { re: /(?:\+\d{1,3}[\s-]?)?\(?\d{2,4}\)?[\s-]\d{3,4}[\s-]\d{3,4}\b|\b\d{3}[-.\s]\d{4}\b/, reason: 'contains a phone-like number' },
];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Scripts written without spaces between words: a name in them is matched inside longer text. */
const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;

/** Whether a name component or identifier is worth matching: two letters or digits, or one character of UNSPACED_SCRIPT. */
export function isMatchableIdentifier(s: string): boolean {
  return UNSPACED_SCRIPT.test(s) || s.replace(/[^\p{L}\p{N}]/gu, '').length >= 2;
}

/**
 * A test for the dataset's own identifiers (name components, IDs, institution...) in a text, in any case and script:
 * whole words, except identifiers in scripts written without spaces, which match anywhere.
 */
export function makeIdentifierMatcher(identifiers: Iterable<string>): (value: string) => boolean {
  const words = [...new Set([...identifiers].map((s) => s.trim().normalize('NFC')).filter(isMatchableIdentifier))].sort((a, b) => b.length - a.length);
  const spaced = words.filter((w) => !UNSPACED_SCRIPT.test(w));
  const unspaced = words.filter((w) => UNSPACED_SCRIPT.test(w));
  // Whole-word match that also works for identifiers with punctuation ("VS-SEG-001"): the identifier must not be
  // glued to further letters or digits on either side.
  const parts = [
    ...(spaced.length ? [`(?<![\\p{L}\\p{N}])(?:${spaced.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`] : []),
    ...(unspaced.length ? [`(?:${unspaced.map(escapeRegExp).join('|')})`] : []),
  ];
  if (!parts.length) return () => false;
  const re = new RegExp(parts.join('|'), 'iu');
  return (value: string) => re.test(value.normalize('NFC'));
}

/** A capitalised word (a proper noun) in a script with case, and words about family or where someone lives. */
const NARRATIVE_RULES: { re: RegExp; reason: string }[] = [
  { re: /(?<![\p{L}\p{N}])(?:\p{Lu}\p{Ll}|\p{Lu}{4})/u, reason: 'narrative text with a capitalised word (a name or place may be in it)' },
  {
    re: /\b(?:wife|husband|partner|spouse|son|daughter|mother|father|brother|sister|child(?:ren)?|grand(?:son|daughter|mother|father|child)|aunt|uncle|cousin|neighbou?r|friend|lives?|living|resides?|home|address|street|road|avenue|village|town|city)\b/i,
    reason: 'narrative text about family or residence',
  },
];

/**
 * Builds the clean check for one dataset. `identifiers` are the dataset's own identifying strings (see 1.
 * above): whole values such as the patient ID, and name components, which the caller splits out of PN values.
 */
export function makeDescriptorCleaner(identifiers: Iterable<string> | ((value: string) => boolean)): (value: string, narrative?: boolean) => CleanVerdict {
  // A matcher the caller already built (deidentify sweeps unlisted text with the same one) is used as it is.
  const hasIdentifier = typeof identifiers === 'function' ? identifiers : makeIdentifierMatcher(identifiers);
  return (value: string, narrative = false) => {
    if (hasIdentifier(value)) return { keep: false, reason: 'contains an identifier of this dataset (name, ID, institution...)' };
    for (const rule of RULES) if (rule.re.test(value)) return { keep: false, reason: rule.reason };
    if (narrative) for (const rule of NARRATIVE_RULES) if (rule.re.test(value)) return { keep: false, reason: rule.reason };
    return { keep: true };
  };
}
