/**
 * Long ASCII strings (domain XML, capabilities) decoded through Node's Buffer: `isAscii` checks the bytes with
 * SIMD and a latin1 copy makes the string, about twice as fast as the fatal TextDecoder, which validates UTF-8
 * and then decodes it again. Anything not ASCII goes back to the TextDecoder. Large lists of short names are cut
 * out of one latin1 string of the message (src/protocol/xdr.ts). Installed on import by the Node entry; the
 * browser-safe core never imports it.
 */
import { Buffer, isAscii } from 'node:buffer';
import { setAsciiDecoder, setLatin1Decoder } from '../protocol/xdr.js';

/** The string of `bytes` when they are all ASCII, else null. */
export function decodeAscii(bytes: Uint8Array): string | null {
  return isAscii(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1') : null;
}

/** One char per byte (what the engine cuts ASCII names out of). */
export function decodeLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

setAsciiDecoder(decodeAscii);
setLatin1Decoder(decodeLatin1);
