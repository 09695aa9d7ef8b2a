// Classification answers of a read, checked against the protocol's questions before they are stored: the key
// is the question's text, the value one of its choices (a list of distinct choices for multiple-choice
// questions). Shapes travel under their own key and are checked in shapes.ts.
import { SHAPES_KEY } from './shapes';

export interface QuestionSpec {
  question: string;
  choices: readonly string[];
  multiple?: boolean;
  /** A final read must answer it (the protocol's default); drafts may leave it open. */
  required?: boolean;
}

export class AnswerError extends Error {}

const quote = (values: readonly string[]) => values.map((v) => `"${v}"`).join(', ');

/**
 * Throws an AnswerError naming every answer that is not valid (at most 10): a key that is no question of the
 * protocol, a value that is not one of the question's choices, a list for a single-choice question or a
 * single value for a multiple-choice one. With `complete` (a final read or adjudication, not a draft) every
 * required question must be answered too; a multiple-choice question may be answered with an empty list.
 */
/** A value as a message quotes it: at most 100 characters (a 2 MB answer was echoed whole). */
const short = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
};

export function checkQuestionAnswers(answers: Record<string, unknown>, questions: readonly QuestionSpec[], options: { complete?: boolean } = {}): void {
  const byText = new Map(questions.map((q) => [q.question, q]));
  const problems: string[] = [];
  for (const [key, value] of Object.entries(answers)) {
    if (key === SHAPES_KEY) continue;
    const q = byText.get(key);
    if (!q) {
      problems.push(`"${key.length > 100 ? `${key.slice(0, 100)}…` : key}" is not a question of the protocol (${questions.length ? `its questions: ${quote(questions.map((x) => x.question))}` : 'it has no questions'})`);
      continue;
    }
    if (q.multiple) {
      if (!Array.isArray(value)) problems.push(`"${key}" takes a list of choices (several may apply), got ${short(value)}`);
      else {
        const bad = value.filter((v) => typeof v !== 'string' || !q.choices.includes(v));
        if (bad.length) problems.push(`"${key}": ${bad.map((v) => JSON.stringify(v)).join(', ')} ${bad.length > 1 ? 'are not choices' : 'is not a choice'} (choices: ${quote(q.choices)})`);
        else if (new Set(value).size !== value.length) problems.push(`"${key}" lists a choice twice`);
      }
    } else if (typeof value !== 'string' || !q.choices.includes(value)) {
      problems.push(`"${key}": ${short(value)} is not one of its choices (${quote(q.choices)})${Array.isArray(value) ? '; it takes one choice' : ''}`);
    }
  }
  if (options.complete) {
    const missing = questions.filter((q) => q.required !== false && !(q.question in answers));
    if (missing.length) problems.push(`${missing.length > 1 ? 'these questions are' : 'this question is'} not answered: ${missing.map((q) => `"${q.question}" (choices: ${quote(q.choices)})`).join(', ')}`);
  }
  if (problems.length) throw new AnswerError(`${problems.length} answer${problems.length > 1 ? 's are' : ' is'} not valid: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? '; …' : ''}`);
}
