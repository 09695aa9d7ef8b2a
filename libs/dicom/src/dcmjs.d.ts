// dcmjs ships no type declarations; this is the slice of its API Contour uses.
declare module 'dcmjs' {
  export namespace data {
    class DicomDict {
      constructor(meta: Record<string, unknown>);
      meta: Record<string, DicomElement>;
      dict: Record<string, DicomElement>;
      write(options?: Record<string, unknown>): ArrayBuffer;
    }
    interface DicomElement {
      vr: string;
      Value?: unknown[];
      InlineBinary?: string;
      BulkDataURI?: string;
    }
    const DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDict;
    };
    const DicomMetaDictionary: {
      naturalizeDataset(dataset: Record<string, DicomElement>): Record<string, any>;
      denaturalizeDataset(dataset: Record<string, any>): Record<string, DicomElement>;
      uid(): string;
      date(): string;
      time(): string;
      dictionary: Record<string, { tag: string; vr: string; name: string; vm: string }>;
      nameMap: Record<string, { tag: string; vr: string; name: string; vm: string }>;
      punctuateTag(rawTag: string): string;
      unpunctuateTag(tag: string): string;
    };
  }
  export const log: {
    getLogger(name: string): { error: (...args: unknown[]) => void; warn: (...args: unknown[]) => void; setLevel(level: string): void };
    setLevel(level: string): void;
  };
  export const utilities: any;
  export const adapters: any;
  export const derivations: any;
  export const normalizers: any;
  const _default: any;
  export default _default;
}
