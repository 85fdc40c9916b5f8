/**
 * Byte buffer helpers shared by the codecs: Node's Buffer where it exists (no zero fill, pooled
 * small allocations, native UTF-8 writes), standard typed arrays and TextEncoder elsewhere.
 */

const NodeBuffer = typeof globalThis.Buffer === "function" ? globalThis.Buffer : undefined
const textEncoder = new TextEncoder()

/**
 * A new, uninitialised byte array: Node's `Buffer.allocUnsafe` where it exists (no zero fill, small
 * sizes come from a pool), a plain `Uint8Array` elsewhere. Callers overwrite every byte.
 *
 * @internal
 */
export const allocUnsafe: (size: number) => Uint8Array = NodeBuffer !== undefined
  ? (size) => NodeBuffer.allocUnsafe(size)
  : (size) => new Uint8Array(size)

/**
 * The length of a string's UTF-8 encoding.
 *
 * @internal
 */
export const utf8Length: (text: string) => number = NodeBuffer !== undefined
  ? (text) => NodeBuffer.byteLength(text, "utf8")
  : (text) => textEncoder.encode(text).length

/**
 * Writes a string's UTF-8 into `target` at `offset`, which must have room for all of it, and
 * returns how many bytes it wrote.
 *
 * @internal
 */
export const writeUtf8: (target: Uint8Array, text: string, offset: number) => number = NodeBuffer !== undefined
  ? (target, text, offset) =>
    NodeBuffer.isBuffer(target)
      ? target.write(text, offset, "utf8")
      : textEncoder.encodeInto(text, target.subarray(offset)).written
  : (target, text, offset) => textEncoder.encodeInto(text, target.subarray(offset)).written

const SLAB_SIZE = 64 * 1024
let slab = allocUnsafe(SLAB_SIZE)
let slabUsed = 0

/**
 * The largest room `slabRoom` hands out.
 *
 * @internal
 */
export const SLAB_ROOM_MAX = SLAB_SIZE / 8

/**
 * Room for up to `size` bytes (at most `SLAB_ROOM_MAX`) at the end of a shared slab, for output
 * whose exact size is known only once written. Write at `slabOffset()`, then `slabCommit` the
 * part used: only that part is taken from the slab. Views keep their slab alive, as Node's pool does.
 *
 * @internal
 */
export const slabRoom = (size: number): Uint8Array => {
  if (slabUsed + size > SLAB_SIZE) {
    slab = allocUnsafe(SLAB_SIZE)
    slabUsed = 0
  }
  return slab
}

/** @internal */
export const slabOffset = (): number => slabUsed

/**
 * Takes `[slabOffset(), end)` from the slab and returns the view `[start, end)`.
 *
 * @internal
 */
export const slabCommit = (start: number, end: number): Uint8Array => {
  slabUsed = (end + 7) & ~7
  return slab.subarray(start, end)
}

/** @internal */
export const EMPTY: Uint8Array = new Uint8Array(0)

/**
 * Concatenates the chunks into one array; a single chunk is returned as it is.
 *
 * @internal
 */
export const concat = (chunks: ReadonlyArray<Uint8Array>, totalLength: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  if (chunks.length === 0) return EMPTY
  const out = allocUnsafe(totalLength)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/**
 * The chunks joined into one array; a single chunk is returned as it is.
 *
 * @internal
 */
export const join = (chunks: ReadonlyArray<Uint8Array>): Uint8Array =>
  concat(chunks, chunks.reduce((n, chunk) => n + chunk.length, 0))
