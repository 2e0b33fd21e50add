/**
 * Decision ids: random (version 4) UUIDs, drawn from the platform's CSPRNG in blocks.
 *
 * Why not `crypto.randomUUID()`: a decision takes a few microseconds, and Node's builds its
 * string by concatenating 16 hex pairs (some 600 bytes of short-lived strings per id, a tenth
 * of a decision's garbage). Here the 36 ASCII characters are written into one buffer and
 * decoded once: one string per id. `getRandomValues` and `TextDecoder` are web standards, so
 * the engine stays usable outside Node.
 */

const HEX = new TextEncoder().encode('0123456789abcdef');
/** Where each of the 16 random bytes goes in `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`. */
const OFFSETS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
/**
 * 4,096 ids' worth of random bytes per `getRandomValues` call, its limit (65,536 bytes): the
 * call costs some 5 µs whatever its size (15 at the limit), so with 256 ids per block one
 * decision in 256 paid it and showed in the latency tail; one in 4,096 is past the p99.9.
 */
const POOL_BYTES = 65_536;

const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;
const text = new Uint8Array(36).fill(45); // '-' where no hex digit is written
const ascii = new TextDecoder('latin1');

/** A new random UUID (RFC 9562 version 4, lowercase), as `crypto.randomUUID()` returns. */
export function newDecisionId(): string {
  if (used === POOL_BYTES) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  for (let i = 0; i < 16; i++) {
    let byte = pool[used + i] as number;
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10
    const at = OFFSETS[i] as number;
    text[at] = HEX[byte >> 4] as number;
    text[at + 1] = HEX[byte & 0x0f] as number;
  }
  used += 16;
  return ascii.decode(text);
}
