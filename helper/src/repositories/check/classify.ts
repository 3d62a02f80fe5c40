import type { AccessCheckCode } from '#protocol';

export interface Failure {
  code: AccessCheckCode;
  message: string;
}

export interface FailureContext {
  /** host[:port], for the messages. */
  host: string;
  transport: 'https' | 'ssh';
  /** A credential was offered (otherwise an auth refusal means "add one"). */
  withCredential: boolean;
  /** The owner pins keys for this host (otherwise a failed host key check means "not known yet"). */
  pinnedKeys: number;
  timedOut: boolean;
  timeoutSeconds: number;
}

/** The last line of git's or ssh's error output worth showing, bounded. */
function lastLine(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('@@@'));
  return (lines.at(-1) ?? 'git ls-remote failed').slice(0, 300);
}

/**
 * What went wrong, from git's and ssh's own words (their messages under LC_ALL=C). Each case gets
 * a sentence that says what to do; the unknown rest shows git's last line.
 */
export function classifyFailure(stderr: string, context: FailureContext): Failure {
  const { host } = context;
  if (context.timedOut)
    return { code: 'timeout', message: `${host} did not answer within ${context.timeoutSeconds} s` };
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(stderr))
    return {
      code: 'host-key-changed',
      message: `${host} presented another SSH host key than the one you trust: refused. If the host really changed its key, confirm the new one`,
    };
  if (/Host key verification failed/i.test(stderr))
    return context.pinnedKeys > 0
      ? {
          code: 'host-key-changed',
          message: `${host} presented an SSH host key you do not trust: refused. If the host really changed its key, confirm the new one`,
        }
      : {
          code: 'host-key-unknown',
          message: `${host}'s SSH host key is not known yet: compare its fingerprint with the one the host publishes, then confirm it`,
        };
  if (/SSL certificate problem|server certificate verification failed|certificate verify failed/i.test(stderr))
    return {
      code: 'tls-untrusted',
      message: context.withCredential
        ? `${host}'s HTTPS certificate is not trusted: for a self-hosted server, add its CA certificate to the credential`
        : `${host}'s HTTPS certificate is not trusted: for a self-hosted server, add a token for ${host} with its CA certificate`,
    };
  if (
    /Could not resolve host|Could not resolve hostname|Name or service not known|Temporary failure in name resolution/i.test(
      stderr,
    )
  )
    return { code: 'unknown-host', message: `${host} is not a host name this machine can resolve` };
  if (
    /Connection refused|No route to host|Network is unreachable|Couldn't connect to server|Failed to connect to|Connection timed out|Connection reset/i.test(
      stderr,
    )
  )
    return { code: 'unreachable', message: `${host} cannot be reached: ${lastLine(stderr)}` };
  if (
    /Authentication failed|could not read Username|could not read Password|returned error: 40[13]|Permission denied \(/i.test(
      stderr,
    )
  )
    return context.withCredential
      ? {
          code: 'auth-refused',
          message:
            context.transport === 'https'
              ? `${host} refused your token: check that it is valid, not expired, and may read this repository`
              : `${host} refused your SSH key: add its public key to your account or the repository on ${host}`,
        }
      : {
          code: 'no-credential',
          message: `${host} wants credentials for this repository: add a ${context.transport === 'https' ? 'token' : 'key'} for ${host} under Repository access`,
        };
  if (/not found|returned error: 404|does not appear to be a git repository|Repository not found|No such/i.test(stderr))
    return {
      code: 'repository-not-found',
      message: `${host} has no such repository, or it is hidden from your credential`,
    };
  return { code: 'failed', message: lastLine(stderr) };
}
