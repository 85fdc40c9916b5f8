/**
 * Byte buffer helpers shared by the codecs.
 */

/**
 * A new, uninitialised byte array: Node's `Buffer.allocUnsafe` where it exists (no zero fill, small
 * sizes come from a pool), a plain `Uint8Array` elsewhere. Callers overwrite every byte.
 *
 * @internal
 */
export const allocUnsafe: (size: number) => Uint8Array = typeof globalThis.Buffer === "function"
  ? (size) => globalThis.Buffer.allocUnsafe(size)
  : (size) => new Uint8Array(size)

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
