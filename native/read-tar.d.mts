// Types of native/read-tar.mjs.
export declare class TarFormatError extends Error {}

export interface TarEntry {
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  /** ustar type flag: '0' file, '2' symlink, '5' directory, … */
  readonly type: string;
}
export interface TarSink {
  write(chunk: Buffer): void;
  end(): void;
}
/** Reads a tar stream; for each file entry `onEntry` returns a sink for its bytes, or undefined to skip it. */
export declare function readTar(source: AsyncIterable<Buffer>, onEntry: (entry: TarEntry) => TarSink | undefined): Promise<void>;
