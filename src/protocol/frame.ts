/**
 * libvirt's RPC framing (src/rpc/virnetmessage.c): a 4-byte big-endian length that counts itself, a 24-byte
 * header (prog, vers, proc, type, serial, status), then the XDR payload.
 *
 * The decoder checks `28 <= length <= 4 + VIR_NET_MESSAGE_MAX` as soon as the length word is complete, before
 * buffering anything of the frame. Frames up to 1 MiB are collected in one reused buffer (a frame's bytes are only
 * valid while it is handled); larger ones are collected as chunks and concatenated once complete.
 */
import { ProtocolError } from '../errors.js';
import * as virnet from '../../generated/virnet-protocol.js';
import { concatBytes, copyBytes, XdrWriter } from './xdr.js';

/** The message header (virNetMessageHeader). */
export interface FrameHeader {
  prog: number;
  vers: number;
  proc: number;
  type: number;
  serial: number;
  status: number;
}

/**
 * One decoded frame: its header and a view of its payload bytes, valid only while the frame is handled (the
 * transport's read buffer or the decoder's join buffer is reused afterwards): copy what you keep.
 */
export interface Frame {
  header: FrameHeader;
  payload: Uint8Array;
}

export const LEN_BYTES = virnet.VIR_NET_MESSAGE_LEN_MAX; // 4
export const HEADER_BYTES = virnet.VIR_NET_MESSAGE_HEADER_MAX; // 24
/** The smallest legal length word: itself plus a header. */
export const MIN_FRAME = LEN_BYTES + HEADER_BYTES;
/** The largest legal length word (virNetMessageDecodeLength). */
export const MAX_FRAME = LEN_BYTES + virnet.VIR_NET_MESSAGE_MAX;

/** Message types (virNetMessageType). */
export const MessageType = virnet.virNetMessageType;
/** Message status (virNetMessageStatus). */
export const MessageStatus = virnet.virNetMessageStatus;

/**
 * Starts a frame in a writer: reserves the length word and writes the header. Finish with {@link endFrame}.
 */
export function beginFrame(w: XdrWriter, h: FrameHeader): number {
  const at = w.reserve();
  w.uint(h.prog);
  w.uint(h.vers);
  w.int(h.proc);
  w.int(h.type);
  w.uint(h.serial);
  w.int(h.status);
  return at;
}

/** Patches the length word of a frame begun at `at`; refuses a frame over libvirt's maximum. */
export function sealFrame(w: XdrWriter, at: number): void {
  const len = w.pos - at;
  if (len > MAX_FRAME) throw new ProtocolError(`message of ${len} bytes exceeds libvirt's maximum of ${MAX_FRAME}`);
  w.patchUint(at, len);
}

/** {@link sealFrame}, then the writer's bytes (a view). */
export function endFrame(w: XdrWriter, at: number): Uint8Array {
  sealFrame(w, at);
  return w.finish();
}

/** Builds a whole frame around an already-encoded payload. */
export function encodeFrame(h: FrameHeader, payload?: Uint8Array): Uint8Array {
  const w = new XdrWriter(MIN_FRAME + (payload?.length ?? 0));
  const at = beginFrame(w, h);
  if (payload && payload.length) {
    w.ensure(payload.length);
    w.buf.set(payload, w.pos);
    w.pos += payload.length;
  }
  return endFrame(w, at);
}

/**
 * Incremental frame decoder. Feed it chunks as they arrive; it calls `onFrame` for each complete frame, in order.
 * Any framing error throws ProtocolError; the caller must then close the connection (frame sync is lost).
 */
export class FrameDecoder {
  /** Chunks of the frame being collected. */
  #parts: Uint8Array[] = [];
  #have = 0;
  /** The current frame's length once its length word is known, else 0. */
  #need = 0;
  #lenBuf = new Uint8Array(4);
  /** The buffer frames up to REUSED_FRAME_MAX bytes are collected in (see #start), and the current one. */
  #scratch: Uint8Array | null = null;
  #into: Uint8Array | null = null;
  #lenHave = 0;
  /** Bytes between frames still to be dropped (see {@link skipBytes}). */
  #skip = 0;
  readonly #onFrame: (f: Frame) => void;

  constructor(onFrame: (f: Frame) => void) {
    this.#onFrame = onFrame;
  }

  /** Bytes buffered for a partial frame (for tests and diagnostics). */
  get buffered(): number {
    return this.#have + this.#lenHave;
  }

  /**
   * Drops the next `n` bytes after the frame being delivered: bytes in the stream that are no frame. libvirt
   * sends each file descriptor of a REPLY_WITH_FDS with one zero byte of data after the frame (gnulib's
   * sendfd, used by virNetSocketSendFD in src/rpc/virnetsocket.c). Call it from `onFrame`. A dropped byte
   * that is not zero is a ProtocolError: the stream is not what libvirt sends.
   */
  skipBytes(n: number): void {
    this.#skip += n;
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.#skip > 0 && this.#need === 0 && this.#lenHave === 0) {
        for (const end = Math.min(n, off + this.#skip); off < end; off++, this.#skip--) {
          if (chunk[off] !== 0) throw new ProtocolError(`byte ${chunk[off]} where the zero byte sent with a file descriptor was expected`);
        }
        continue;
      }
      if (this.#need === 0) {
        // Fast path: a whole frame inside this chunk, no copying.
        if (this.#lenHave === 0 && n - off >= 4) {
          const len = readLen(chunk, off);
          checkLen(len);
          if (n - off >= len) {
            this.#emit(chunk, off, len);
            off += len;
            continue;
          }
          this.#start(len);
          this.#take(chunk.subarray(off));
          break;
        }
        // The length word itself is split across chunks.
        while (this.#lenHave < 4 && off < n) this.#lenBuf[this.#lenHave++] = chunk[off++];
        if (this.#lenHave < 4) return;
        const len = readLen(this.#lenBuf, 0);
        checkLen(len);
        this.#start(len);
        this.#take(this.#into ? this.#lenBuf : copyBytes(this.#lenBuf, 0, 4));
        this.#lenHave = 0;
        continue;
      }
      const take = Math.min(this.#need - this.#have, n - off);
      this.#take(chunk.subarray(off, off + take));
      off += take;
      if (this.#have === this.#need) {
        const whole = this.#into ?? (this.#parts.length === 1 ? this.#parts[0] : concatBytes(this.#parts, this.#need));
        this.#parts = [];
        this.#into = null;
        this.#have = 0;
        this.#need = 0;
        this.#emit(whole, 0, whole.length);
      }
    }
    // Chunks kept across calls must not alias the caller's buffer, which a transport may reuse.
    if (this.#parts.length) this.#parts = this.#parts.map((p) => (p.buffer === chunk.buffer ? copyBytes(p, 0, p.length) : p));
  }

  /**
   * Starts collecting a frame of `len` bytes. Frames up to {@link REUSED_FRAME_MAX} bytes are copied as they
   * arrive into one buffer that the next such frame reuses: every consumer copies what it keeps (the engine's
   * routes and the XDR reader do), so a stream's 256 KiB packets cost no allocation each. Larger frames are
   * collected as chunks and joined once complete, so a peer cannot make us allocate what it has not sent.
   */
  #start(len: number): void {
    this.#need = len;
    this.#have = 0;
    if (len > REUSED_FRAME_MAX) return;
    if (this.#scratch === null || this.#scratch.length < len) this.#scratch = new Uint8Array(Math.max(len, STREAM_FRAME));
    this.#into = this.#scratch.subarray(0, len);
  }

  #take(bytes: Uint8Array): void {
    if (this.#into) this.#into.set(bytes, this.#have);
    else this.#parts.push(bytes);
    this.#have += bytes.length;
  }

  /** The frame of `len` bytes at `b[off]`. */
  #emit(b: Uint8Array, off: number, len: number): void {
    // Byte arithmetic rather than a DataView: constructing one (and reading `.buffer`) are calls into the
    // runtime that cost more than the whole header parse, and this runs once per message.
    const header: FrameHeader = {
      prog: readLen(b, off + 4),
      vers: readLen(b, off + 8),
      proc: readInt(b, off + 12),
      type: readInt(b, off + 16),
      serial: readLen(b, off + 20),
      status: readInt(b, off + 24),
    };
    this.#onFrame({ header, payload: b.subarray(off + MIN_FRAME, off + len) });
  }
}

/** Frames up to this size are collected in a reused buffer. */
const REUSED_FRAME_MAX = 1 << 20;
/** A stream packet's frame: the initial size of that buffer. */
const STREAM_FRAME = MIN_FRAME + virnet.VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX;

/** Big-endian unsigned 32-bit value at `b[off]`. */
function readLen(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** Big-endian signed 32-bit value at `b[off]`. */
function readInt(b: Uint8Array, off: number): number {
  return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
}

function checkLen(len: number): void {
  if (len < MIN_FRAME) throw new ProtocolError(`frame length ${len} is below the minimum of ${MIN_FRAME}`);
  if (len > MAX_FRAME) throw new ProtocolError(`frame length ${len} exceeds libvirt's maximum of ${MAX_FRAME}`);
}

