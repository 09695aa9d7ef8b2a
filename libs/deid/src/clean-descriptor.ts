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

/**
 * Builds the clean check for one dataset. `identifiers` are the dataset's own identifying strings (see 1.
 * above): whole values such as the patient ID, and name components, which the caller splits out of PN values.
 */
export function makeDescriptorCleaner(identifiers: Iterable<string>): (value: string) => CleanVerdict {
  const words = [...new Set([...identifiers].map((s) => s.trim()).filter((s) => s.length >= 2 && /[a-z0-9]/i.test(s)))];
  // Whole-word match that also works for identifiers with punctuation ("VS-SEG-001"): the identifier must not be
  // glued to further letters or digits on either side.
  const identifierRe = words.length
    ? new RegExp(`(?<![a-z0-9])(?:${words.sort((a, b) => b.length - a.length).map(escapeRegExp).join('|')})(?![a-z0-9])`, 'i')
    : undefined;
  return (value: string) => {
    if (identifierRe?.test(value)) return { keep: false, reason: 'contains an identifier of this dataset (name, ID, institution...)' };
    for (const rule of RULES) if (rule.re.test(value)) return { keep: false, reason: rule.reason };
    return { keep: true };
  };
}
