// Types of native/provision-cuda.mjs (a plain Node script; tests import it).
export declare const PROVIDER_PACKAGE: Readonly<{ name: string; version: string; integrity: string }>;
export declare const ORT_VERSION: string;
export declare const LIB_PREFIX: string;
export declare const PROVIDER_FILES: readonly string[];
export declare const REQUIRED_LIBRARIES: readonly string[];
export declare const RECORD_SCHEMA: number;

export declare class ProvisionError extends Error {}

export declare function ortVersionOfCoreLibrary(bytes: Uint8Array): string | undefined;
export declare function provision(
  argv: string[],
  io?: { env?: NodeJS.ProcessEnv; out?: NodeJS.WritableStream; err?: NodeJS.WritableStream },
): Promise<number>;
