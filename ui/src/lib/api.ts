// Calls into the Rust side. Commands that can fail return `{status, data|error}`; `call` turns
// that into a value or a thrown `CommandError` carrying the stable code and the message.
import type { AppError } from "../bindings";

export class CommandError extends Error {
  code: string;
  constructor(error: AppError) {
    super(error.message);
    this.code = error.code;
  }
}

type Outcome<T> = { status: "ok"; data: T } | { status: "error"; error: AppError };

export async function call<T>(outcome: Promise<Outcome<T>>): Promise<T> {
  const result = await outcome;
  if (result.status === "error") throw new CommandError(result.error);
  return result.data;
}

export function message(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
