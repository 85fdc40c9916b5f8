/**
 * RFC 6455 §5.3 masking: payload byte `i` is XOR-ed with key byte `(phase + i) % 4`, where
 * `phase` is how many payload bytes of the frame came before. The key is packed into a number,
 * its first byte in the top 8 bits. Long runs go 32 bits at a time, sixteen bytes per loop turn.
 */

const keyBytes = new Uint8Array(4)
const keyWord = new Uint32Array(keyBytes.buffer)

/** Below this many bytes a plain byte loop beats setting up a word view. */
const WORD_THRESHOLD = 64

/**
 * Packs four key bytes, `bytes[offset]` first, into a number.
 *
 * @internal
 */
export const packKey = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0

const keyByte = (key: number, phase: number): number => (key >>> (24 - 8 * phase)) & 0xff

/**
 * XORs `data[from, to)` in place with `key` starting at `phase`.
 *
 * @internal
 */
export const maskInPlace = (data: Uint8Array, from: number, to: number, key: number, phase: number): void => {
  let i = from
  let p = phase & 3
  if (to - from >= WORD_THRESHOLD) {
    // Reach a 4-byte boundary of the underlying buffer, then go a word at a time.
    while (((data.byteOffset + i) & 3) !== 0) {
      data[i] = data[i]! ^ keyByte(key, p)
      p = (p + 1) & 3
      i++
    }
    keyBytes[0] = keyByte(key, p)
    keyBytes[1] = keyByte(key, (p + 1) & 3)
    keyBytes[2] = keyByte(key, (p + 2) & 3)
    keyBytes[3] = keyByte(key, (p + 3) & 3)
    const mask = keyWord[0]!
    const words = (to - i) >>> 2
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words)
    let w = 0
    for (; w + 4 <= words; w += 4) {
      view[w] = view[w]! ^ mask
      view[w + 1] = view[w + 1]! ^ mask
      view[w + 2] = view[w + 2]! ^ mask
      view[w + 3] = view[w + 3]! ^ mask
    }
    for (; w < words; w++) view[w] = view[w]! ^ mask
    i += words << 2
  }
  for (; i < to; i++) {
    data[i] = data[i]! ^ keyByte(key, p)
    p = (p + 1) & 3
  }
}

/**
 * Writes `source[from, from + length)` XOR `key` (starting at `phase`) into `target` at `offset`.
 *
 * @internal
 */
export const maskInto = (
  source: Uint8Array,
  from: number,
  length: number,
  key: number,
  phase: number,
  target: Uint8Array,
  offset: number
): void => {
  if (length < WORD_THRESHOLD) {
    let p = phase & 3
    for (let i = 0; i < length; i++) {
      target[offset + i] = source[from + i]! ^ keyByte(key, p)
      p = (p + 1) & 3
    }
    return
  }
  target.set(from === 0 && length === source.length ? source : source.subarray(from, from + length), offset)
  maskInPlace(target, offset, offset + length, key, phase)
}
