// DICOM text with code extensions (PS3.5 6.1.2.5, PS3.3 C.12.1.1.2): a Specific Character Set of several values,
// such as "\ISO 2022 IR 87" (Japanese: ASCII plus JIS X 0208 kanji), "ISO 2022 IR 13\ISO 2022 IR 87", "\ISO 2022 IR
// 149" (Korean) or "\ISO 2022 IR 58" (Chinese), where escape sequences in each value switch between the character
// sets named. dcmjs 0.51 refuses such files ("Using multiple character sets is not supported"), which Japanese and
// Korean scanners write by default; Contour quarantined them as damaged. This decoder reads them: each run between
// escape sequences is decoded by the set it is in, through the WHATWG decoders Node ships (EUC-JP, EUC-KR, GBK and
// the ISO 8859 parts), since a 94^n set designated to G0 or G1 is the EUC form of the same bytes.

type G0 = 'ascii' | 'jisx0208' | 'jisx0212';
type G1 = 'none' | 'katakana' | 'ksx1001' | 'gb2312' | { single: string };

interface State {
  g0: G0;
  g1: G1;
}

/** The sets a defined term designates (ISO 2022 IR n -> where it goes). */
const TERMS: Record<string, Partial<State>> = {
  '': { g0: 'ascii' },
  'ISO 2022 IR 6': { g0: 'ascii' },
  'ISO 2022 IR 13': { g0: 'ascii', g1: 'katakana' },
  'ISO 2022 IR 87': { g0: 'jisx0208' },
  'ISO 2022 IR 159': { g0: 'jisx0212' },
  'ISO 2022 IR 149': { g1: 'ksx1001' },
  'ISO 2022 IR 58': { g1: 'gb2312' },
  'ISO 2022 IR 100': { g1: { single: 'latin1' } },
  'ISO 2022 IR 101': { g1: { single: 'iso-8859-2' } },
  'ISO 2022 IR 109': { g1: { single: 'iso-8859-3' } },
  'ISO 2022 IR 110': { g1: { single: 'iso-8859-4' } },
  'ISO 2022 IR 144': { g1: { single: 'iso-8859-5' } },
  'ISO 2022 IR 127': { g1: { single: 'iso-8859-6' } },
  'ISO 2022 IR 126': { g1: { single: 'iso-8859-7' } },
  'ISO 2022 IR 138': { g1: { single: 'iso-8859-8' } },
  'ISO 2022 IR 148': { g1: { single: 'iso-8859-9' } },
  'ISO 2022 IR 166': { g1: { single: 'windows-874' } },
};

/** Escape sequences (the bytes after ESC) and what they designate. */
const ESCAPES: [number[], Partial<State>][] = [
  [[0x28, 0x42], { g0: 'ascii' }], // ( B  ASCII
  [[0x28, 0x4a], { g0: 'ascii' }], // ( J  JIS X 0201 Romaji (ASCII but for two glyphs)
  [[0x29, 0x49], { g1: 'katakana' }], // ) I  JIS X 0201 Katakana
  [[0x24, 0x42], { g0: 'jisx0208' }], // $ B  JIS X 0208
  [[0x24, 0x28, 0x44], { g0: 'jisx0212' }], // $ ( D  JIS X 0212
  [[0x24, 0x29, 0x43], { g1: 'ksx1001' }], // $ ) C  KS X 1001
  [[0x24, 0x29, 0x41], { g1: 'gb2312' }], // $ ) A  GB 2312
  [[0x2d, 0x41], { g1: { single: 'latin1' } }],
  [[0x2d, 0x42], { g1: { single: 'iso-8859-2' } }],
  [[0x2d, 0x43], { g1: { single: 'iso-8859-3' } }],
  [[0x2d, 0x44], { g1: { single: 'iso-8859-4' } }],
  [[0x2d, 0x4c], { g1: { single: 'iso-8859-5' } }],
  [[0x2d, 0x47], { g1: { single: 'iso-8859-6' } }],
  [[0x2d, 0x46], { g1: { single: 'iso-8859-7' } }],
  [[0x2d, 0x48], { g1: { single: 'iso-8859-8' } }],
  [[0x2d, 0x4d], { g1: { single: 'iso-8859-9' } }],
  [[0x2d, 0x54], { g1: { single: 'windows-874' } }],
];

const decoders = new Map<string, TextDecoder>();
const decoder = (label: string) => decoders.get(label) ?? decoders.set(label, new TextDecoder(label)).get(label)!;

/** Whether a Specific Character Set names ISO 2022 code extensions this decoder reads. */
export function isIso2022CharacterSet(values: readonly string[]): boolean {
  return values.length > 1 && values.every((v) => v.trim() in TERMS);
}

/** A decoder for one dataset's multi-valued Specific Character Set, with the TextDecoder method dcmjs calls. */
export class Iso2022Decoder {
  private readonly initial: State;

  constructor(values: readonly string[]) {
    const unknown = values.find((v) => !(v.trim() in TERMS));
    if (unknown !== undefined) throw new Error(`Unsupported character set in Specific Character Set: "${unknown}"`);
    // The first value is in effect at the start of each value (and after each delimiter); the others are only reached
    // by their escape sequences.
    this.initial = { g0: 'ascii', g1: 'none', ...TERMS[values[0].trim()] };
  }

  decode(input?: ArrayBufferView | ArrayBuffer): string {
    if (!input) return '';
    const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    const out: string[] = [];
    let state: State = { ...this.initial };
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      if (b === 0x1b) {
        const match = ESCAPES.find(([seq]) => seq.every((s, k) => bytes[i + 1 + k] === s));
        if (match) {
          state = { ...state, ...match[1] };
          i += 1 + match[0].length;
        } else i++; // an escape sequence this decoder does not know: dropped, the text goes on
        continue;
      }
      if (b < 0x21 || b === 0x7f) {
        // Controls (CR, LF, TAB, FF) and space end a multi-byte run: PS3.5 6.1.2.5.3 returns to the initial sets there.
        if (b !== 0x20) state = { ...this.initial };
        else if (state.g0 !== 'ascii') state = { ...state, g0: 'ascii' };
        out.push(String.fromCharCode(b));
        i++;
        continue;
      }
      if (b < 0x80) {
        if (state.g0 === 'ascii') {
          // The value delimiters (\, and ^ = in names) also return to the initial sets.
          if (b === 0x5c || b === 0x5e || b === 0x3d) state = { ...this.initial };
          out.push(String.fromCharCode(b));
          i++;
        } else if (state.g0 === 'jisx0208') {
          out.push(decoder('euc-jp').decode(Uint8Array.of(b | 0x80, (bytes[i + 1] ?? 0x21) | 0x80)));
          i += 2;
        } else {
          out.push(decoder('euc-jp').decode(Uint8Array.of(0x8f, b | 0x80, (bytes[i + 1] ?? 0x21) | 0x80)));
          i += 2;
        }
        continue;
      }
      const g1 = state.g1;
      if (g1 === 'katakana') {
        out.push(decoder('euc-jp').decode(Uint8Array.of(0x8e, b)));
        i++;
      } else if (g1 === 'ksx1001' || g1 === 'gb2312') {
        out.push(decoder(g1 === 'ksx1001' ? 'euc-kr' : 'gbk').decode(Uint8Array.of(b, bytes[i + 1] ?? 0xa1)));
        i += 2;
      } else if (g1 === 'none') {
        out.push('\ufffd');
        i++;
      } else {
        out.push(decoder(g1.single).decode(Uint8Array.of(b)));
        i++;
      }
    }
    return out.join('');
  }
}
