/** A command line that does not parse: exit code 2 with the usage text. */
export class UsageError extends Error {}
