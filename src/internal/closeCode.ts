/**
 * Close status codes (RFC 6455 §7.4) and the rules of which may be sent and received, shared by
 * the decoder, the encoder and the driver (re-exported by `Frame`).
 */

/**
 * Close status codes (RFC 6455 §7.4.1 and the IANA registry of §11.7), named as in wsproto.
 *
 * @since 0.1.0
 * @category models
 */
export const CloseReason = {
  NORMAL_CLOSURE: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS_RCVD: 1005,
  ABNORMAL_CLOSURE: 1006,
  INVALID_FRAME_PAYLOAD_DATA: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXT: 1010,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  BAD_GATEWAY: 1014,
  TLS_HANDSHAKE_FAILED: 1015
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason]

/**
 * Whether a close code may appear in a close frame, sent or received: 1000–1003, 1007–1014 and
 * 3000–4999. Codes below 1000, 1004, the local-only 1005, 1006 and 1015 (RFC 6455 §7.4.1),
 * 1016–2999 (reserved for the protocol, §7.4.2) and 5000 and above are invalid on the wire.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isValidCloseCode = (code: number): boolean =>
  Number.isInteger(code) &&
  ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))

/**
 * Whether a close code only reports a situation locally and is never sent (RFC 6455 §7.4.1):
 * 1005 (no status code), 1006 (abnormal closure), 1015 (TLS handshake failure).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isLocalOnlyCloseCode = (code: number): boolean =>
  code === CloseReason.NO_STATUS_RCVD || code === CloseReason.ABNORMAL_CLOSURE ||
  code === CloseReason.TLS_HANDSHAKE_FAILED
