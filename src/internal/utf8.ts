/**
 * Incremental, fail-fast UTF-8 validation and decoding (RFC 3629 §4, as RFC 6455 §5.6 and §8.1
 * require for text messages).
 *
 * The state between chunks is the incomplete code point at the end of the previous chunk, packed
 * into one number: `length << 24 | byte0 << 16 | byte1 << 8 | byte2` (0 when empty). Complete code
 * points are validated and decoded in one native call; the held-back tail is checked as a prefix
 * here, so a byte that can neither start nor continue a sequence fails in the chunk it arrives in.
 */

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** @internal */
export const EMPTY_CARRY = 0

/**
 * Validates and decodes `bytes` as a whole; `undefined` when they are not valid UTF-8.
 * A leading U+FEFF is kept (it is text, not a byte order mark, in a WebSocket message).
 *
 * Short input, very long input and input that starts with ASCII goes to the native decoder.
 * Other text goes through a
 * validating decoder here that writes UTF-16 code units, which the native UTF-16 decoder turns
 * into a string: together about twice as fast as native UTF-8 decoding of non-ASCII text in V8.
 *
 * @internal
 */
export const decodeComplete = (bytes: Uint8Array): string | undefined => {
  const length = bytes.length
  if (length <= SHORT_ASCII_MAX) {
    // A few bytes (a frame fed in small reads): the native decoder's call costs more than this.
    let text = ""
    for (let i = 0; i < length; i++) {
      const byte = bytes[i]!
      if (byte >= 0x80) return nativeDecode(bytes)
      text += String.fromCharCode(byte)
    }
    return text
  }
  if (length >= JS_DECODE_MIN && length <= JS_DECODE_MAX && littleEndian) {
    // Text that is not ASCII near its start rarely is further on: decode it here.
    const probe = Math.min(length, ASCII_PROBE)
    let i = 0
    while (i < probe && bytes[i]! < 0x80) i++
    if (i < probe) return decodeNonAscii(bytes, i)
  }
  return nativeDecode(bytes)
}

const nativeDecode = (bytes: Uint8Array): string | undefined => {
  try {
    return fatalDecoder.decode(bytes)
  } catch {
    return undefined
  }
}

const SHORT_ASCII_MAX = 8
const JS_DECODE_MIN = 64
const ASCII_PROBE = 64
const JS_DECODE_MAX = 256 * 1024
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const utf16Decoder = new TextDecoder("utf-16le", { ignoreBOM: true })
let units = new Uint16Array(1024)

/** RFC 3629 §3 and §4: decodes and validates; `start` is the first byte that is not ASCII. */
const decodeNonAscii = (bytes: Uint8Array, start: number): string | undefined => {
  const length = bytes.length
  if (units.length < length) units = new Uint16Array(Math.max(length, units.length * 2))
  const out = units
  for (let i = 0; i < start; i++) out[i] = bytes[i]!
  let o = start
  let i = start
  while (i < length) {
    const lead = bytes[i]!
    if (lead < 0x80) {
      out[o++] = lead
      i++
    } else if (lead < 0xc2) {
      return undefined
    } else if (lead < 0xe0) {
      if (i + 1 >= length) return undefined
      const b1 = bytes[i + 1]!
      if ((b1 & 0xc0) !== 0x80) return undefined
      out[o++] = ((lead & 0x1f) << 6) | (b1 & 0x3f)
      i += 2
    } else if (lead < 0xf0) {
      if (i + 2 >= length) return undefined
      const b1 = bytes[i + 1]!
      const b2 = bytes[i + 2]!
      if (!validSecond(lead, b1) || (b2 & 0xc0) !== 0x80) return undefined
      out[o++] = ((lead & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f)
      i += 3
    } else if (lead < 0xf5) {
      if (i + 3 >= length) return undefined
      const b1 = bytes[i + 1]!
      const b2 = bytes[i + 2]!
      const b3 = bytes[i + 3]!
      if (!validSecond(lead, b1) || (b2 & 0xc0) !== 0x80 || (b3 & 0xc0) !== 0x80) return undefined
      const codePoint = (((lead & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f)) - 0x10000
      out[o++] = 0xd800 | (codePoint >>> 10)
      out[o++] = 0xdc00 | (codePoint & 0x3ff)
      i += 4
    } else {
      return undefined
    }
  }
  return utf16Decoder.decode(out.subarray(0, o))
}

/** Length of the sequence a lead byte starts; 0 for bytes that can never start one. */
const sequenceLength = (lead: number): number =>
  lead < 0x80 ? 1 : lead < 0xc2 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : lead < 0xf5 ? 4 : 0

/** RFC 3629 §4: the second byte's range depends on the lead (no overlongs, surrogates, > U+10FFFF). */
const validSecond = (lead: number, byte: number): boolean => {
  switch (lead) {
    case 0xe0:
      return byte >= 0xa0 && byte <= 0xbf
    case 0xed:
      return byte >= 0x80 && byte <= 0x9f
    case 0xf0:
      return byte >= 0x90 && byte <= 0xbf
    case 0xf4:
      return byte >= 0x80 && byte <= 0x8f
    default:
      return byte >= 0x80 && byte <= 0xbf
  }
}

const isContinuation = (byte: number): boolean => (byte & 0xc0) === 0x80

/** Whether `bytes[from, to)` (a lead byte and at most two more) can still become a code point. */
const isValidPrefix = (bytes: Uint8Array, from: number, to: number): boolean => {
  const lead = bytes[from]!
  if (to - from >= 2 && !validSecond(lead, bytes[from + 1]!)) return false
  return to - from < 3 || isContinuation(bytes[from + 2]!)
}

const carryLength = (carry: number): number => carry >>> 24

const carryByte = (carry: number, index: number): number => (carry >>> (16 - 8 * index)) & 0xff

const packCarry = (bytes: ReadonlyArray<number>): number => {
  let carry = bytes.length << 24
  for (let i = 0; i < bytes.length; i++) carry |= bytes[i]! << (16 - 8 * i)
  return carry
}

const codePointOf = (bytes: ReadonlyArray<number>): number => {
  const lead = bytes[0]!
  if (bytes.length === 2) return ((lead & 0x1f) << 6) | (bytes[1]! & 0x3f)
  if (bytes.length === 3) return ((lead & 0x0f) << 12) | ((bytes[1]! & 0x3f) << 6) | (bytes[2]! & 0x3f)
  return ((lead & 0x07) << 18) | ((bytes[1]! & 0x3f) << 12) | ((bytes[2]! & 0x3f) << 6) | (bytes[3]! & 0x3f)
}

/**
 * The result of decoding one chunk: the text of every complete code point, and the carry to pass
 * with the next chunk. Reused between calls: read it before the next call.
 *
 * @internal
 */
export interface Decoded {
  text: string
  carry: number
}

const result: Decoded = { text: "", carry: EMPTY_CARRY }

/**
 * Decodes the next chunk of a text message. Returns `undefined` as soon as the bytes cannot be
 * UTF-8, and also when `final` is set and the message ends inside a code point.
 *
 * @internal
 */
export const decodeChunk = (carry: number, bytes: Uint8Array, final: boolean): Decoded | undefined => {
  let start = 0
  let prefix = ""
  if (carry !== EMPTY_CARRY) {
    // Complete the code point held back from the previous chunk.
    const held = carryLength(carry)
    const sequence: Array<number> = []
    for (let i = 0; i < held; i++) sequence.push(carryByte(carry, i))
    const needed = sequenceLength(sequence[0]!)
    while (sequence.length < needed && start < bytes.length) {
      const byte = bytes[start++]!
      const ok = sequence.length === 1 ? validSecond(sequence[0]!, byte) : isContinuation(byte)
      if (!ok) return undefined
      sequence.push(byte)
    }
    if (sequence.length < needed) {
      if (final) return undefined
      result.text = ""
      result.carry = packCarry(sequence)
      return result
    }
    prefix = String.fromCodePoint(codePointOf(sequence))
  }
  // Hold back an incomplete code point at the end, if it is a valid beginning of one.
  let end = bytes.length
  for (let i = end - 1; i >= start && i >= end - 3; i--) {
    const byte = bytes[i]!
    if (isContinuation(byte)) continue
    const needed = sequenceLength(byte)
    if (needed > end - i) {
      if (final || !isValidPrefix(bytes, i, end)) return undefined
      const tail: Array<number> = []
      for (let j = i; j < end; j++) tail.push(bytes[j]!)
      result.carry = packCarry(tail)
      end = i
    } else {
      result.carry = EMPTY_CARRY
    }
    break
  }
  if (end === bytes.length) result.carry = EMPTY_CARRY
  if (start === end) {
    result.text = prefix
    return result
  }
  const text = decodeComplete(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end))
  if (text === undefined) return undefined
  result.text = prefix === "" ? text : prefix + text
  return result
}
