import type { Duplex } from 'node:stream';
import { messageOf } from '../../errors.js';
import type { Logger } from '../../log.js';
import { parseCredentialInput, type CredentialRequest } from './parse.js';
import { CONTROL } from './url.js';

export type CredentialAnswerer = (
  request: CredentialRequest,
) => Promise<{ username: string; password: string } | { refused: string }>;

export const CREDENTIAL_LIMITS = {
  /** git sends a few hundred bytes; a request this big is not git. */
  maxInputBytes: 64 * 1024,
  /** The helper in the guest writes its whole request at once; one that trickles is cut off. */
  requestTimeoutMs: 30_000,
  maxUsername: 256,
  maxPassword: 8192,
};

const BLANK_LINE = Buffer.from('\n\n');

/**
 * Answers one credential request from the guest's git credential helper on `stream`: the action
 * line and attributes, up to a blank line or the half-close, then one answer and the close. Only
 * `get` is answered with a credential, and only as `answer` decides; `store` and `erase` get an
 * empty answer (nothing is kept from the guest). A refusal is an empty answer too, so git goes
 * on as if no helper knew — and a warn line says which host and path, and why. The password is
 * never logged; it is checked before it is written, since a stored value with a newline in it
 * would let the credential add attributes of its own to git's input.
 */
export function serveGitCredential(stream: Duplex, answer: CredentialAnswerer, log: Logger): void {
  let received = Buffer.alloc(0);
  let settled = false;
  const timer = setTimeout(
    () => refuse({ reason: 'the request did not arrive in time' }),
    CREDENTIAL_LIMITS.requestTimeoutMs,
  );
  timer.unref();

  function finish(output?: string): void {
    clearTimeout(timer);
    received = Buffer.alloc(0);
    if (stream.destroyed) return;
    if (output === undefined) stream.end();
    else stream.end(output);
  }

  function refuse(fields: { reason: string; host?: string; path?: string | null }): void {
    if (settled) return;
    settled = true;
    log.warn(fields, 'git credential: request refused');
    finish();
  }

  function decide(input: Buffer): void {
    const parsed = parseCredentialInput(input);
    if ('refused' in parsed) {
      const { refused: reason, ...where } = parsed;
      refuse({ reason, ...where });
      return;
    }
    settled = true;
    if (parsed.request === null) {
      // store/erase: git tells helpers what worked or failed; hearthd keeps nothing from the guest.
      finish();
      return;
    }
    const request = parsed.request;
    const where = { host: request.host, path: request.path };
    answer(request).then(
      (result) => {
        if ('refused' in result) {
          log.warn({ ...where, reason: result.refused }, 'git credential: request refused');
          finish();
          return;
        }
        const problem = unsafeCredential(result.username, result.password);
        if (problem) {
          log.error({ ...where, reason: problem }, 'git credential: the stored credential cannot be sent');
          finish();
          return;
        }
        log.info(where, 'git credential: answered');
        finish(`${result.username ? `username=${result.username}\n` : ''}password=${result.password}\n\n`);
      },
      (error: unknown) => {
        log.error({ ...where, err: messageOf(error) }, 'git credential: answering failed');
        finish();
      },
    );
  }

  stream.on('data', (chunk: Buffer | string) => {
    if (settled) return;
    received = Buffer.concat([received, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    const blank = received.indexOf(BLANK_LINE);
    if (blank !== -1 && blank < CREDENTIAL_LIMITS.maxInputBytes) {
      decide(received.subarray(0, blank + 1));
      return;
    }
    if (received.length > CREDENTIAL_LIMITS.maxInputBytes) {
      refuse({ reason: `a request over ${CREDENTIAL_LIMITS.maxInputBytes} bytes` });
      stream.destroy();
    }
  });
  stream.on('end', () => {
    if (!settled) decide(received);
  });
  stream.on('error', (error) => {
    clearTimeout(timer);
    log.debug({ err: error.message }, 'git credential: connection error');
  });
  stream.on('close', () => clearTimeout(timer));
}

/** A value that would not reach git as one attribute; the reason names the field, never its content. */
function unsafeCredential(username: string, password: string): string | null {
  if (password === '') return 'an empty password';
  if (CONTROL.test(password)) return 'a control character in the password';
  if (CONTROL.test(username)) return 'a control character in the user name';
  if (password.length > CREDENTIAL_LIMITS.maxPassword || username.length > CREDENTIAL_LIMITS.maxUsername)
    return 'a credential too long';
  return null;
}
