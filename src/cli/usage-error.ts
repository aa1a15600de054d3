/** A command line that does not parse or names no command: exit code 2, with a pointer to `tresor help <command>`. */
export class UsageError extends Error {}

/** A well-formed command the deployment's state does not allow (a server runs, a directory is not empty): exit code 1. */
export class Refusal extends Error {}
