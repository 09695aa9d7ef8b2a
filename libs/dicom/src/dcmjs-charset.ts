// dcmjs 0.51 reads each sequence item of defined length from a new stream (ReadBufferStream.more) that starts with
// the default decoder (latin1) instead of the Specific Character Set of the dataset around it (PS3.5 6.1.2.5.2: an
// item without its own inherits it). UTF-8 text inside sequences came out scrambled ("Müller" as "MÃ¼ller"), and
// de-identification, which looks for the patient's name in descriptions, no longer recognised it: a name in a
// Request Attributes Sequence reached annotators. The sub-stream now starts with its parent's decoder; an item that
// names its own character set still sets its own. Imported once, by parse.ts, before any file is read.
import * as dcmjs from 'dcmjs';
import { Iso2022Decoder, isIso2022CharacterSet } from './iso2022';

interface Stream {
  decoder?: unknown;
  setDecoder(decoder: unknown): void;
}

const proto = (dcmjs.data as unknown as { ReadBufferStream: { prototype: { more(length: number): Stream; __contourInheritsDecoder?: boolean } } }).ReadBufferStream.prototype;
if (!proto.__contourInheritsDecoder) {
  const more = proto.more;
  proto.more = function (this: Stream, length: number): Stream {
    const sub = more.call(this, length);
    if (this.decoder) sub.setDecoder(this.decoder);
    return sub;
  };
  proto.__contourInheritsDecoder = true;
}

// A multi-valued Specific Character Set (ISO 2022 code extensions, iso2022.ts): dcmjs throws on it. Its reader is
// handed a single value it knows (so it goes on, and records the text as UTF-8, as it does for every file), and the
// stream is given Contour's ISO 2022 decoder in place of the one dcmjs makes for that value.
interface ReadInfo {
  tag: { toCleanString(): string };
  values: unknown[];
}
interface IsoStream extends Stream {
  __contourIso2022?: Iso2022Decoder;
}
const message = (dcmjs.data as unknown as { DicomMessage: { _readTag(stream: IsoStream, ...rest: unknown[]): ReadInfo; __contourIso2022?: boolean } }).DicomMessage;
if (!message.__contourIso2022) {
  const readTag = message._readTag;
  message._readTag = function (stream: IsoStream, ...rest: unknown[]): ReadInfo {
    const info = readTag.call(this, stream, ...rest);
    if (info.values.length > 1 && info.tag.toCleanString() === '00080005') {
      const values = info.values.map((v) => String(v ?? ''));
      if (isIso2022CharacterSet(values)) {
        stream.__contourIso2022 = new Iso2022Decoder(values);
        info.values = ['ISO 2022 IR 6'];
      }
    }
    return info;
  };
  const setDecoder = (proto as unknown as { setDecoder(this: IsoStream, d: unknown): void }).setDecoder;
  (proto as unknown as { setDecoder(this: IsoStream, d: unknown): void }).setDecoder = function (this: IsoStream, d: unknown) {
    const iso = this.__contourIso2022;
    this.__contourIso2022 = undefined;
    setDecoder.call(this, iso ?? d);
  };
  message.__contourIso2022 = true;
}
