/** What a CLI command may touch of its process: arguments, environment, output. */
export interface CliIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Redraws a one-line progress bar in place (a terminal); absent: progress goes to stderr now and then. */
  readonly progress?: (line: string, final: boolean) => void;
}

/** Parsed command-line options (node:util parseArgs), as commands receive them. */
export type CliValues = Record<string, string | boolean | string[] | undefined>;
