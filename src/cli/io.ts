/** What a command may touch besides files: its output streams and the environment (injectable for tests). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  env: process.env,
};

/** Exit codes of the profile tooling: documented in docs/tooling.md. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure the command reports as one message and exit code 1 (bad input, a refused request, a missing file). */
export class CommandError extends Error {}
