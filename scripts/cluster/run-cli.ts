import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** Runs a CLI's main() and exits with its code; an error becomes one line prefixed with the tool's name. */
export function runCli(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(`${name}: ${error.message}`);
      process.exit(1);
    },
  );
}

const HELP = { help: { type: "boolean", short: "h" } } as const;

/**
 * `<command> [args] [--options]` from the process arguments (at most `maxArgs` after the
 * command). `--help`, a missing command or too many arguments print `usage` and give the exit
 * code instead (0 for help, 2 for a misuse).
 *
 * @example
 *   const line = parseCommand(USAGE, { name: { type: "string" } });
 *   if ("exitCode" in line) return line.exitCode;
 */
export function parseCommand<O extends ParseArgsOptionsConfig>(usage: string, options: O, maxArgs = 0): { exitCode: number } | { command: string; args: string[]; values: Values<O> } {
  const { values, positionals } = parseArgs({ args: Bun.argv.slice(2), allowPositionals: true, allowNegative: true, strict: true, options: { ...options, ...HELP } });
  const [command, ...args] = positionals;
  const help = (values as { help?: boolean }).help === true;
  if (help || command === undefined || args.length > maxArgs) {
    console.log(usage);
    return { exitCode: help ? 0 : 2 };
  }
  return { command, args, values: values as Values<O> };
}

type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: O }>>["values"];
