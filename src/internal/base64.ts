/**
 * Base64 (RFC 4648 §4) of bytes and back, with the standard `btoa`/`atob`.
 */

/** @internal */
export const encode = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

/** @internal */
export const decode = (text: string): Uint8Array => Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
