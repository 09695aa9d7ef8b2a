// Classification answers of a read, checked against the protocol's questions before they are stored: the key
// is the question's text, the value one of its choices (a list of distinct choices for multiple-choice
// questions). Shapes travel under their own key and are checked in shapes.ts.
import { SHAPES_KEY } from './shapes';

export interface QuestionSpec {
  question: string;
  choices: readonly string[];
  multiple?: boolean;
}

export class AnswerError extends Error {}

const quote = (values: readonly string[]) => values.map((v) => `"${v}"`).join(', ');

/**
 * Throws an AnswerError naming every answer that is not valid (at most 10): a key that is no question of the
 * protocol, a value that is not one of the question's choices, a list for a single-choice question or a
 * single value for a multiple-choice one. Questions left unanswered are not an error here.
 */
export function checkQuestionAnswers(answers: Record<string, unknown>, questions: readonly QuestionSpec[]): void {
  const byText = new Map(questions.map((q) => [q.question, q]));
  const problems: string[] = [];
  for (const [key, value] of Object.entries(answers)) {
    if (key === SHAPES_KEY) continue;
    const q = byText.get(key);
    if (!q) {
      problems.push(`"${key}" is not a question of the protocol (${questions.length ? `its questions: ${quote(questions.map((x) => x.question))}` : 'it has no questions'})`);
      continue;
    }
    if (q.multiple) {
      if (!Array.isArray(value)) problems.push(`"${key}" takes a list of choices (several may apply), got ${JSON.stringify(value)}`);
      else {
        const bad = value.filter((v) => typeof v !== 'string' || !q.choices.includes(v));
        if (bad.length) problems.push(`"${key}": ${bad.map((v) => JSON.stringify(v)).join(', ')} ${bad.length > 1 ? 'are not choices' : 'is not a choice'} (choices: ${quote(q.choices)})`);
        else if (new Set(value).size !== value.length) problems.push(`"${key}" lists a choice twice`);
      }
    } else if (typeof value !== 'string' || !q.choices.includes(value)) {
      problems.push(`"${key}": ${JSON.stringify(value)} is not one of its choices (${quote(q.choices)})${Array.isArray(value) ? '; it takes one choice' : ''}`);
    }
  }
  if (problems.length) throw new AnswerError(`${problems.length} answer${problems.length > 1 ? 's are' : ' is'} not valid: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? '; …' : ''}`);
}
