/**
 * RFC 6455 §5.3 masking: payload byte `i` is XOR-ed with key byte `(phase + i) % 4`, where
 * `phase` is how many payload bytes of the frame came before. The key is packed into a number,
 * its first byte in the top 8 bits.
 *
 * Long runs go through a 128-bit SIMD WebAssembly kernel (`mask.wat`, embedded below) in blocks of
 * its 64 KiB memory; where WebAssembly SIMD is missing they go 32 bits at a time in JavaScript,
 * through an `Int32Array` (signed, so V8 keeps every word a small integer).
 */

import * as Base64 from "./base64.js"

const keyBytes = new Uint8Array(4)
const keyWord = new Int32Array(keyBytes.buffer)

/** Below this many bytes a plain byte loop beats setting up a word view. */
const WORD_THRESHOLD = 64

/** From this many bytes the SIMD kernel beats the word loop, copies in and out included. */
const SIMD_THRESHOLD = 1024

/** `mask.wat` compiled by wabt (test/internal/mask.test.ts recompiles it and compares). */
const KERNEL_BASE64 =
  "AGFzbQEAAAABBwFgA39/fwADAgEABQMBAAEHEAIGbWVtb3J5AgADeG9yAAAKbwFtAgF/AXsgAv0RIQQgACABQUBxaiEDAkADQCAAIANPDQEgACAA/QAEACAE/VH9CwQAIAAgAP0ABBAgBP1R/QsEECAAIAD9AAQgIAT9Uf0LBCAgACAA/QAEMCAE/VH9CwQwIABBwABqIQAMAAsLCw=="

/** @internal */
export const kernelBytes = (): Uint8Array => Base64.decode(KERNEL_BASE64)

interface Kernel {
  readonly memory: Uint8Array
  readonly xor: (pointer: number, length: number, mask: number) => void
}

/** The part of the WebAssembly JS API used here (the ES2022 lib does not declare it). */
interface WebAssemblyApi {
  readonly Module: new(bytes: Uint8Array) => object
  readonly Instance: new(module: object) => { readonly exports: object }
}

const loadKernel = (api: WebAssemblyApi): Kernel | undefined => {
  try {
    const instance = new api.Instance(new api.Module(kernelBytes()))
    const exports = instance.exports as { memory: { buffer: ArrayBuffer }; xor: Kernel["xor"] }
    return { memory: new Uint8Array(exports.memory.buffer), xor: exports.xor }
  } catch {
    // No WebAssembly SIMD here: the word loop does the work.
    return undefined
  }
}

const webAssembly = (globalThis as { readonly WebAssembly?: WebAssemblyApi }).WebAssembly
const kernel = webAssembly === undefined ? undefined : loadKernel(webAssembly)

/** @internal */
export const simdAvailable = kernel !== undefined

/**
 * Reads four bytes, `bytes[offset]` first (network order, RFC 6455 §5.2), as an unsigned number:
 * a packed masking key, or half of a 64-bit payload length.
 *
 * @internal
 */
export const readUint32 = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0

const keyByte = (key: number, phase: number): number => (key >>> (24 - 8 * phase)) & 0xff

/** The key as a native-endian 32-bit word, rotated so that its first byte is key byte `phase`. */
const maskWord = (key: number, phase: number): number => {
  keyBytes[0] = keyByte(key, phase)
  keyBytes[1] = keyByte(key, (phase + 1) & 3)
  keyBytes[2] = keyByte(key, (phase + 2) & 3)
  keyBytes[3] = keyByte(key, (phase + 3) & 3)
  return keyWord[0]!
}

const maskBytes = (data: Uint8Array, from: number, to: number, key: number, phase: number): void => {
  let p = phase & 3
  for (let i = from; i < to; i++) {
    data[i] = data[i]! ^ keyByte(key, p)
    p = (p + 1) & 3
  }
}

/** The JavaScript word loop, for when WebAssembly SIMD is missing. */
const maskWords = (data: Uint8Array, from: number, to: number, key: number, phase: number): void => {
  let i = from
  let p = phase & 3
  // Reach a 4-byte boundary of the underlying buffer, then go a word at a time.
  while (((data.byteOffset + i) & 3) !== 0) {
    data[i] = data[i]! ^ keyByte(key, p)
    p = (p + 1) & 3
    i++
  }
  const mask = maskWord(key, p)
  const words = (to - i) >>> 2
  const view = new Int32Array(data.buffer, data.byteOffset + i, words)
  const unrolled = words & ~15
  let w = 0
  for (; w < unrolled; w += 16) {
    view[w] = view[w]! ^ mask
    view[w + 1] = view[w + 1]! ^ mask
    view[w + 2] = view[w + 2]! ^ mask
    view[w + 3] = view[w + 3]! ^ mask
    view[w + 4] = view[w + 4]! ^ mask
    view[w + 5] = view[w + 5]! ^ mask
    view[w + 6] = view[w + 6]! ^ mask
    view[w + 7] = view[w + 7]! ^ mask
    view[w + 8] = view[w + 8]! ^ mask
    view[w + 9] = view[w + 9]! ^ mask
    view[w + 10] = view[w + 10]! ^ mask
    view[w + 11] = view[w + 11]! ^ mask
    view[w + 12] = view[w + 12]! ^ mask
    view[w + 13] = view[w + 13]! ^ mask
    view[w + 14] = view[w + 14]! ^ mask
    view[w + 15] = view[w + 15]! ^ mask
  }
  for (; w < words; w++) view[w] = view[w]! ^ mask
  maskBytes(data, i + (words << 2), to, key, p)
}

/** Masks `source[from, from + length)` into `target` at `offset` through the SIMD kernel's memory. */
const maskThroughKernel = (
  { memory, xor }: Kernel,
  source: Uint8Array,
  from: number,
  length: number,
  key: number,
  phase: number,
  target: Uint8Array,
  offset: number
): void => {
  const block = memory.length
  for (let done = 0; done < length; done += block) {
    // Every block but the last is a multiple of 4 bytes long, so the phase carries over unchanged.
    const size = Math.min(block, length - done)
    memory.set(source.subarray(from + done, from + done + size))
    xor(0, size, maskWord(key, phase))
    const simdEnd = size & ~63
    maskBytes(memory, simdEnd, size, key, (phase + simdEnd) & 3)
    target.set(memory.subarray(0, size), offset + done)
  }
}

/**
 * XORs `data[from, to)` in place with `key` starting at `phase`.
 *
 * @internal
 */
export const maskInPlace = (data: Uint8Array, from: number, to: number, key: number, phase: number): void => {
  const length = to - from
  if (length < WORD_THRESHOLD) maskBytes(data, from, to, key, phase)
  else if (kernel !== undefined && length >= SIMD_THRESHOLD) {
    maskThroughKernel(kernel, data, from, length, key, phase, data, from)
  } else maskWords(data, from, to, key, phase)
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
  } else if (kernel !== undefined && length >= SIMD_THRESHOLD) {
    maskThroughKernel(kernel, source, from, length, key, phase, target, offset)
  } else {
    target.set(source.subarray(from, from + length), offset)
    maskWords(target, offset, offset + length, key, phase)
  }
}

/**
 * The word loop alone, for tests that compare it with the kernel.
 *
 * @internal
 */
export const maskInPlaceWithoutKernel = (data: Uint8Array, from: number, to: number, key: number, phase: number) =>
  to - from < WORD_THRESHOLD ? maskBytes(data, from, to, key, phase) : maskWords(data, from, to, key, phase)
