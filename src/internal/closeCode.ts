/**
 * Close status code rules of RFC 6455 §7.4 shared by the decoder, the encoder and `Frame`.
 */

/** @internal */
export const isValidCloseCode = (code: number): boolean =>
  Number.isInteger(code) &&
  ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))

/** @internal */
export const isLocalOnlyCloseCode = (code: number): boolean => code === 1005 || code === 1006 || code === 1015

/** @internal */
export const NO_STATUS_RCVD = 1005
