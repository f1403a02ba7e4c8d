/** The `cosmos3-serve` command registry: argv → one command; nothing imports cli/. */

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export interface Command {
  readonly summary: string;
  /** Run with the arguments after the command name; resolves to the process exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** One line per command; modules load only when their command runs. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  serve: { summary: 'Run the HTTP server (configured by environment variables; see --help)', run: async (a, io) => (await import('./serve.js')).runServe(a, io) },
  convert: { summary: 'Convert a Hugging Face Cosmos3 checkpoint into ONNX graphs (--checkpoint, --out, --dtype)', run: async (a, io) => (await import('./convert.js')).runConvert(a, io) },
  verify: { summary: 'Check the converter and sampler against a golden fixture (--fixture)', run: async (a, io) => (await import('./verify.js')).runVerify(a, io) },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: cosmos3-serve <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "cosmos3-serve <command> --help" for a command's options.`;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    io.stderr.write(`unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  return command.run(rest, io);
}
