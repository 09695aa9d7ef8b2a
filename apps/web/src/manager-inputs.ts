// Checks of what a manager types, made before a request is sent, so a mistake gets a message that says what to
// type instead of a server error (or, for an empty AE title, a request to the wrong URL).

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** A task's priority: a whole number from -1000 to 1000 (the API's range); empty is refused, not read as 0. */
export function parsePriority(text: string): Checked<number> {
  const s = text.trim();
  if (!/^[+-]?\d+$/.test(s)) return { ok: false, message: 'Enter the priority as a whole number from -1000 to 1000 (higher is offered first).' };
  const n = Number(s);
  if (n < -1000 || n > 1000) return { ok: false, message: `A priority is from -1000 to 1000 (got ${s}).` };
  return { ok: true, value: n };
}

/** A calling AE title as the API takes it (DICOM AE): 1-16 printable ASCII characters once trimmed, not only spaces. */
export function parseAeTitle(text: string): Checked<string> {
  const s = text.trim();
  if (!s) return { ok: false, message: 'Enter the calling AE title of the device that sends the images (1-16 characters).' };
  if (!/^[\x20-\x7e]{1,16}$/.test(s)) return { ok: false, message: `An AE title is 1-16 printable ASCII characters (letters, digits, spaces and punctuation); "${s}" is not.` };
  return { ok: true, value: s };
}

/** A numeric setting as its form field shows it: what it is called, its unit as typed, its range, whole or not. */
export interface NumberSetting {
  /** As the field's label says it, e.g. "the agreement threshold". */
  name: string;
  min: number;
  max: number;
  /** Whole numbers only. */
  whole: boolean;
  /** The unit the field is typed in, e.g. "minutes" (messages speak in it, not in what the API stores). */
  unit?: string;
}

/** A number typed in a settings field: empty is refused, not read as 0 (which is a valid threshold and rework count). */
export function parseSetting(text: string, setting: NumberSetting): Checked<number> {
  const s = text.trim();
  const kind = setting.whole ? 'a whole number' : 'a number';
  const range = `${kind} from ${setting.min} to ${setting.max}${setting.unit ? ` ${setting.unit}` : ''}`;
  const n = Number(s);
  if (!s || !(setting.whole ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)$/).test(s) || !Number.isFinite(n)) return { ok: false, message: `Enter ${setting.name} as ${range}.` };
  if (n < setting.min || n > setting.max) return { ok: false, message: `${setting.name[0].toUpperCase()}${setting.name.slice(1)} is ${range} (got ${s}).` };
  return { ok: true, value: n };
}
