// dcmjs 0.51 reads each sequence item of defined length from a new stream (ReadBufferStream.more) that starts with
// the default decoder (latin1) instead of the Specific Character Set of the dataset around it (PS3.5 6.1.2.5.2: an
// item without its own inherits it). UTF-8 text inside sequences came out scrambled ("Müller" as "MÃ¼ller"), and
// de-identification, which looks for the patient's name in descriptions, no longer recognised it: a name in a
// Request Attributes Sequence reached annotators. The sub-stream now starts with its parent's decoder; an item that
// names its own character set still sets its own. Imported once, by parse.ts, before any file is read.
import * as dcmjs from 'dcmjs';

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
