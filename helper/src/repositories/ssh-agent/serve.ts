import type { Duplex } from 'node:stream';
import type { Logger } from '../../log.js';
import { AgentSession, type AgentPolicy } from './session.js';
import { WireError } from './wire.js';

/**
 * Bounds on one connection. A message is a uint32 length and that many bytes; OpenSSH's own
 * agent caps them at 256 KiB, and nothing a client legitimately sends comes near it.
 */
export const AGENT_LIMITS = {
  maxMessageBytes: 256 * 1024,
  /** Refusals before the connection is closed: a client that keeps asking is not an SSH client, and each refusal is a log line. */
  maxRefusals: 16,
};

/**
 * Speaks the agent protocol on one guest connection. Replies go out in order, one request at a
 * time: while a reply is not taken (the stream asks to wait), nothing more is read, so a client
 * that pipelines without reading holds at most one message and one reply of hearthd's memory.
 * A malformed message closes the connection; every refusal is answered FAILURE and logged at
 * warn with its reason — never the data asked to be signed.
 */
export function serveSshAgent(stream: Duplex, policy: AgentPolicy, log: Logger): void {
  const session = new AgentSession(policy);
  let pending: Buffer = Buffer.alloc(0);
  let refusals = 0;
  let waiting = false;
  let ended = false;
  let closing = false;

  /** Closes at once (malformed input: nothing more is answered) or after the answers already written. */
  const close = (reason: string, how: 'abort' | 'after-replies') => {
    log.warn({ reason }, 'ssh agent: connection closed');
    closing = true;
    pending = Buffer.alloc(0);
    if (how === 'abort') stream.destroy();
    else stream.end();
  };

  const pump = () => {
    while (!waiting && !closing && pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (length === 0 || length > AGENT_LIMITS.maxMessageBytes) {
        close(`a message of ${length} bytes (at most ${AGENT_LIMITS.maxMessageBytes})`, 'abort');
        return;
      }
      if (pending.length < 4 + length) return;
      const message = pending.subarray(4, 4 + length);
      pending = pending.subarray(4 + length);
      let outcome;
      try {
        outcome = session.handle(message);
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        close(`a malformed message: ${error.message}`, 'abort');
        return;
      }
      if (outcome.refused) {
        refusals += 1;
        log.warn({ reason: outcome.refused, ...outcome.detail }, 'ssh agent: request refused');
      } else if (outcome.granted) {
        log.info({ ...outcome.detail }, `ssh agent: ${outcome.granted}`);
      }
      const frame = Buffer.alloc(4 + outcome.reply.length);
      frame.writeUInt32BE(outcome.reply.length);
      outcome.reply.copy(frame, 4);
      if (!stream.write(frame)) {
        waiting = true;
        stream.pause();
        stream.once('drain', () => {
          waiting = false;
          stream.resume();
          pump();
        });
      }
      if (refusals >= AGENT_LIMITS.maxRefusals) {
        close(`${refusals} requests refused on one connection`, 'after-replies');
        return;
      }
    }
    // The client is done asking: once every answer due is out, the connection closes.
    if (ended && !waiting && !closing && !stream.destroyed) stream.end();
  };

  stream.on('data', (chunk: Buffer | string) => {
    if (closing) return;
    // A paused stream may still hand over the chunk it was delivering; it waits in `pending`.
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
    if (pending.length >= 4 && pending.readUInt32BE(0) > AGENT_LIMITS.maxMessageBytes) {
      close(`a message of ${pending.readUInt32BE(0)} bytes (at most ${AGENT_LIMITS.maxMessageBytes})`, 'abort');
      return;
    }
    // A stream that goes on delivering while paused is not waiting for its answers either.
    if (pending.length > 2 * (4 + AGENT_LIMITS.maxMessageBytes)) {
      close('a client that sends on without reading its answers', 'abort');
      return;
    }
    pump();
  });
  stream.on('end', () => {
    ended = true;
    pump();
  });
  stream.on('error', (error) => {
    log.debug({ err: error.message }, 'ssh agent: connection error');
  });
}
