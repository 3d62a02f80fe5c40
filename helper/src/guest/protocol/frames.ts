import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { compileValidator } from '../../validate.js';

/**
 * Protocol v2 of the guest channel: the frames hearthd and the guest agent exchange, one JSON
 * object per line (see docs/guest-channel.md for why lines and not length-prefixed binary:
 * virtio-serial tells neither end when the other (re)attaches, and a newline resynchronises a
 * reader that joined mid-stream — a cut line fails to parse and is dropped). The v1 reports
 * (`status`, `readiness`: agent-messages.ts) stay valid lines beside these frames.
 *
 * Everything here arrives from inside a VM: each frame type has its own schema, checked before
 * anything reads it, and every size is bounded.
 */
export const PROTOCOL_VERSION = 2;
/** The longest line either side sends or accepts (a data frame's JSON around 32 KiB of base64 fits). */
export const FRAME_LINE_MAX_BYTES = 64 * 1024;
/** The most raw bytes one data frame carries (base64 makes it 43,692 characters). */
export const DATA_FRAME_MAX_BYTES = 32 * 1024;
/** Streams open at once per VM, both directions together: sized for 500 concurrent (ports, tasks). */
export const MAX_STREAMS = 512;
/** Each receiver's window per stream: what it grants when a stream opens and never more outstanding. */
export const STREAM_WINDOW_BYTES = 32 * 1024;
/** What one VM's streams may hold in hearthd at most: every stream's full window, unread. */
export const VM_BUFFER_MAX_BYTES = MAX_STREAMS * STREAM_WINDOW_BYTES;

const StreamId = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 });
const RequestId = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 });
const Name = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' });
/** A short reason, for logs; never shown as a user's message verbatim. */
const Reason = Type.String({ maxLength: 500 });

const frame = <T extends string, P extends Record<string, TSchema>>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), ...props }, { additionalProperties: false });

/** The agent's greeting: at its start and in answer to hearthd's, with a session id fresh per start. */
export const GuestHello = frame('hello', {
  protocol: Type.Integer({ minimum: PROTOCOL_VERSION, maximum: 1000 }),
  agent: Type.Integer({ minimum: 1, maximum: 1000 }),
  session: Type.String({ pattern: '^[0-9a-f]{16,64}$' }),
  features: Type.Array(Name, { maxItems: 32 }),
});
export type GuestHello = Static<typeof GuestHello>;
/** hearthd's greeting, on every (re)connect: the agent answers with its own and drops older streams. */
export const HostHello = frame('hello', { protocol: Type.Integer({ minimum: PROTOCOL_VERSION, maximum: 1000 }) });
export type HostHello = Static<typeof HostHello>;

export const RequestFrame = frame('request', {
  id: RequestId,
  method: Name,
  params: Type.Optional(Type.Unknown()),
});
export type RequestFrame = Static<typeof RequestFrame>;

export const ResponseError = Type.Object(
  { code: Name, message: Type.String({ maxLength: 2000 }) },
  { additionalProperties: false },
);
export type ResponseError = Static<typeof ResponseError>;
export const ResponseFrame = frame('response', {
  id: RequestId,
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(ResponseError),
});
export type ResponseFrame = Static<typeof ResponseFrame>;

export const OpenFrame = frame('open', {
  stream: StreamId,
  kind: Name,
  params: Type.Optional(Type.Unknown()),
  /** The opener's receive window: what the other side may send before a `window` frame. */
  window: Type.Integer({ minimum: 0, maximum: STREAM_WINDOW_BYTES }),
});
export type OpenFrame = Static<typeof OpenFrame>;

export const DataFrame = frame('data', {
  stream: StreamId,
  data: Type.String({ maxLength: Math.ceil(DATA_FRAME_MAX_BYTES / 3) * 4, pattern: '^[A-Za-z0-9+/]*={0,2}$' }),
  /** exec: 1 stdout, 2 stderr; absent on every other kind. */
  fd: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
});
export type DataFrame = Static<typeof DataFrame>;

/** More credit: the receiver read `bytes` and may take that many more. */
export const WindowFrame = frame('window', {
  stream: StreamId,
  bytes: Type.Integer({ minimum: 1, maximum: STREAM_WINDOW_BYTES }),
});
export type WindowFrame = Static<typeof WindowFrame>;

/** The sender's half-close: no more data from it on this stream. */
export const EofFrame = frame('eof', { stream: StreamId });
export type EofFrame = Static<typeof EofFrame>;

export const ExitStatus = Type.Object(
  {
    code: Type.Union([Type.Integer({ minimum: 0, maximum: 255 }), Type.Null()]),
    signal: Type.Union([Type.String({ pattern: '^SIG[A-Z0-9+-]{1,12}$' }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type ExitStatus = Static<typeof ExitStatus>;
/** The stream is gone for the sender: after both eofs, or to abort (`error`); exec ends with `exit`. */
export const CloseFrame = frame('close', {
  stream: StreamId,
  error: Type.Optional(Reason),
  exit: Type.Optional(ExitStatus),
});
export type CloseFrame = Static<typeof CloseFrame>;

export type GuestFrame =
  GuestHello | RequestFrame | ResponseFrame | OpenFrame | DataFrame | WindowFrame | EofFrame | CloseFrame;
export type HostFrame = Exclude<GuestFrame, GuestHello> | HostHello;

/** One validator per frame type: the `type` field picks it, so a bad frame is judged by its own schema. */
export const guestFrameValidators: Record<GuestFrame['type'], (value: unknown) => boolean> = {
  hello: compileValidator(GuestHello),
  request: compileValidator(RequestFrame),
  response: compileValidator(ResponseFrame),
  open: compileValidator(OpenFrame),
  data: compileValidator(DataFrame),
  window: compileValidator(WindowFrame),
  eof: compileValidator(EofFrame),
  close: compileValidator(CloseFrame),
};

export const isFrameType = (type: unknown): type is GuestFrame['type'] =>
  typeof type === 'string' && Object.hasOwn(guestFrameValidators, type);

/** One line: the frame's JSON and its newline. */
export const frameLine = (frame: HostFrame): string => `${JSON.stringify(frame)}\n`;
