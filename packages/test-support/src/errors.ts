import { DistilleryError } from '@distillery/tensor';
import { expect } from 'vitest';

/** What a DistilleryError must say: its argument (exactly, or a pattern), and optionally its code and message. */
export interface ErrorExpectation {
  code?: string;
  message?: RegExp;
  /** The message must start with `<argument>:` (the format every DistilleryError follows). */
  prefixed?: boolean;
  /** Names the case in a failure message. */
  label?: string;
}

/** What `fn` threw, or undefined when it returned. */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** What the promise of `fn` rejected with (or what `fn` threw), or undefined when it resolved. */
export async function caughtAsync(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function check(error: unknown, argument: string | RegExp, expectation: ErrorExpectation): DistilleryError {
  const { code, message, prefixed, label } = expectation;
  const what = `${label ? `${label}: ` : ''}expected a DistilleryError naming ${argument}, got ${String(error)}`;
  expect(error, what).toBeInstanceOf(DistilleryError);
  const err = error as DistilleryError;
  if (typeof argument === 'string') expect(err.argument, err.message).toBe(argument);
  else expect(err.argument, err.message).toMatch(argument);
  if (prefixed) expect(err.message.startsWith(`${err.argument}:`), err.message).toBe(true);
  if (code !== undefined) expect(err.code, err.message).toBe(code);
  if (message) expect(err.message).toMatch(message);
  return err;
}

/**
 * `fn` (or an error already caught) is a DistilleryError whose `argument` is `argument`; a string `code` is short for
 * `{ code }`. Returns the error for further checks.
 */
export function expectDistilleryError(
  fn: (() => unknown) | { error: unknown },
  argument: string | RegExp,
  expectation: ErrorExpectation | string = {},
): DistilleryError {
  const error = typeof fn === 'function' ? caught(fn) : fn.error;
  return check(error, argument, typeof expectation === 'string' ? { code: expectation } : expectation);
}

/** The asynchronous form of `expectDistilleryError`: `fn`'s promise rejects with the DistilleryError. */
export async function expectDistilleryErrorAsync(
  fn: () => unknown,
  argument: string | RegExp,
  expectation: ErrorExpectation | string = {},
): Promise<DistilleryError> {
  const error = await caughtAsync(fn);
  return check(error, argument, typeof expectation === 'string' ? { code: expectation } : expectation);
}
