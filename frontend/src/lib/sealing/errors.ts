// The one error the sealing code throws: it names what could not be opened or sealed and why.

export type SealingReason = "wrong key or tampered" | "truncated" | "extended" | "not sealed" | "bad format" | "refused";

/** A sealed stream, key seal or sealed bundle that could not be opened (or built): `subject` says which
 * (a file path, "sealed key", "bundle"), `reason` the kind of failure, `message` both in words. */
export class SealingError extends Error {
  readonly subject: string;
  readonly reason: SealingReason;

  constructor(subject: string, reason: SealingReason, detail: string) {
    super(`${subject}: ${detail}`);
    this.name = "SealingError";
    this.subject = subject;
    this.reason = reason;
  }
}
