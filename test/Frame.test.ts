/**
 * The RFC 6455 frame codec, rule by rule: the RFC's §5.7 examples, header rules, fragmentation,
 * close payloads, UTF-8, size limits, streaming, the decoder options, the encoder (wsproto's
 * TestFrameProtocolSend and wsproto run by hand) and the extension hooks (wsproto's
 * TestFrameDecoderExtensions). Tests name the wsproto test they follow, as wsproto
 * tests/<file>::<test>, from wsproto's tests/test_frame_protocol.py or, where its tests are silent,
 * the RFC section that governs the behaviour.
 */
import { performance } from "node:perf_hooks"
import { describe, expect, it } from "vitest"
import { LocalProtocolError, RemoteProtocolError } from "../src/Errors.js"
import type { Extension, InboundHeader, OutboundFrame } from "../src/Extensions.js"
import * as Frame from "../src/Frame.js"
import {
  applyMask,
  binaryData,
  chunksOf,
  closePayload,
  concatBytes,
  decodeAll,
  encodedBytes,
  encodedHex,
  type Fed,
  feed,
  fixedKey,
  hex,
  hexOf,
  left,
  plainAll,
  rawFrame,
  repeatByte,
  right,
  splitAt,
  toHex,
  utf8
} from "./helpers.js"

const RFC_KEY = hex("37 fa 21 3d")
const MASK = hex("61 62 63 64")

const client = (...chunks: ReadonlyArray<Uint8Array>): Fed => decodeAll({ role: "client" }, ...chunks)
const server = (...chunks: ReadonlyArray<Uint8Array>): Fed => decodeAll({ role: "server" }, ...chunks)

const serverEncoder = (options: Partial<Frame.EncoderOptions> = {}): Frame.EncoderState =>
  Frame.encoder({ ...options, role: "server" })
const clientEncoder = (key: Uint8Array = RFC_KEY, options: Partial<Frame.EncoderOptions> = {}): Frame.EncoderState =>
  Frame.encoder({ ...options, role: "client", maskKey: fixedKey(key) })

const text = (data: string, frameFinished = true, messageFinished = true) =>
  ({ _tag: "Text", data, frameFinished, messageFinished }) as const
const binary = (data: Uint8Array | string, frameFinished = true, messageFinished = true) =>
  ({ _tag: "Binary", data: typeof data === "string" ? data : toHex(data), frameFinished, messageFinished }) as const
const ping = (payload: Uint8Array | string) =>
  ({ _tag: "Ping", payload: typeof payload === "string" ? payload : toHex(payload) }) as const
const pong = (payload: Uint8Array | string) =>
  ({ _tag: "Pong", payload: typeof payload === "string" ? payload : toHex(payload) }) as const
const close = (code: number, reason = "") => ({ _tag: "Close", code, reason }) as const

/** Asserts that the decoding failed with a RemoteProtocolError carrying `code`. */
const expectFailure = (fed: Fed, code: number): void => {
  expect(fed.error).toBeInstanceOf(RemoteProtocolError)
  expect(fed.error?.closeCode).toBe(code)
  expect(Frame.decoderError(fed.state)).toBe(fed.error)
}

const expectOk = (fed: Fed): void => {
  expect(fed.error).toBeUndefined()
  expect(Frame.decoderError(fed.state)).toBeUndefined()
}

const HELLO = utf8("Hello")
const FNORD = utf8("fñör∂") // 66 c3 b1 c3 b6 72 e2 88 82
const KOSME_SURROGATE = hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64")
const SHRUG = "¯\\_(ツ)_/¯"
const EMOJI = "😃😄🙃😉"

describe("RFC 6455 §5.7 examples", () => {
  it("decodes a single-frame unmasked text message (81 05 Hello)", () => {
    const fed = client(hex("81 05 48 65 6c 6c 6f"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("Hello")])
  })

  it("encodes a single-frame unmasked text message as a server (81 05 Hello)", () => {
    expect(encodedHex(Frame.encodeMessage(serverEncoder(), "Hello"))).toBe("810548656c6c6f")
  })

  it("decodes a single-frame masked text message (81 85 37 fa 21 3d 7f 9f 4d 51 58)", () => {
    const fed = server(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("Hello")])
  })

  it("encodes a single-frame masked text message as a client with key 37 fa 21 3d", () => {
    expect(encodedHex(Frame.encodeMessage(clientEncoder(), "Hello"))).toBe("818537fa213d7f9f4d5158")
  })

  it("decodes a fragmented unmasked text message (01 03 Hel, 80 02 lo)", () => {
    const fed = client(hex("01 03 48 65 6c"), hex("80 02 6c 6f"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("Hel", true, false), text("lo")])
  })

  it("encodes a fragmented unmasked text message piece by piece (01 03 Hel, 80 02 lo)", () => {
    const first = right(Frame.encodeMessage(serverEncoder(), "Hel", false))
    expect(hexOf(first)).toBe("010348656c")
    expect(encodedHex(Frame.encodeMessage(first.state, "lo"))).toBe("80026c6f")
  })

  it("encodes the fragmented example with fragmentSize 3", () => {
    expect(encodedHex(Frame.encodeMessage(serverEncoder({ fragmentSize: 3 }), "Hello"))).toBe("010348656c80026c6f")
  })

  it("decodes an unmasked Ping (89 05 Hello)", () => {
    const fed = client(hex("89 05 48 65 6c 6c 6f"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([ping(HELLO)])
  })

  it("encodes an unmasked Ping as a server (89 05 Hello)", () => {
    expect(encodedHex(Frame.encodePing(serverEncoder(), HELLO))).toBe("890548656c6c6f")
  })

  it("decodes a masked Pong (8a 85 37 fa 21 3d 7f 9f 4d 51 58)", () => {
    const fed = server(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([pong(HELLO)])
  })

  it("encodes a masked Pong as a client with key 37 fa 21 3d", () => {
    expect(encodedHex(Frame.encodePong(clientEncoder(), HELLO))).toBe("8a8537fa213d7f9f4d5158")
  })

  it("decodes a 256-byte binary message in a single unmasked frame (82 7e 01 00)", () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i)
    const fed = client(concatBytes(hex("82 7e 01 00"), payload))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary(payload)])
  })

  it("encodes a 256-byte binary message with header 82 7e 01 00", () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(encodedHex(Frame.encodeMessage(serverEncoder(), payload))).toBe("827e0100" + toHex(payload))
  })

  it("decodes a 64 KiB binary message in a single unmasked frame (82 7f 00 00 00 00 00 01 00 00)", () => {
    const payload = Uint8Array.from({ length: 65536 }, (_, i) => (i * 7) & 0xff)
    const fed = client(concatBytes(hex("82 7f 00 00 00 00 00 01 00 00"), payload))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary(payload)])
  })

  it("encodes a 64 KiB binary message with header 82 7f 00 00 00 00 00 01 00 00", () => {
    const payload = Uint8Array.from({ length: 65536 }, (_, i) => (i * 7) & 0xff)
    expect(encodedHex(Frame.encodeMessage(serverEncoder(), payload))).toBe("827f0000000000010000" + toHex(payload))
  })
})

describe("§5.2 frame header", () => {
  describe("FIN", () => {
    it("a data frame without FIN leaves its message open", () => {
      const fed = client(hex("01 01 61"))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([text("a", true, false)])
      expect(Frame.isIdle(fed.state)).toBe(false)
    })

    it("an empty text frame is surfaced as an empty, finished text (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_zero_length_message)", () => {
      const fed = client(hex("81 00"))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([text("")])
    })

    it("a short text frame is surfaced whole (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_short_server_message_frame)", () => {
      expect(plainAll(client(hex("81 02 78 79")).frames)).toEqual([text("xy")])
    })

    it("a 65535-byte text frame in one chunk is one frame (wsproto tests/test_frame_protocol.py::TestFrameProtocolReceive::test_long_text_message)", () => {
      const fed = client(concatBytes(hex("81 7e ff ff"), repeatByte(0x78, 65535)))
      expect(plainAll(fed.frames)).toEqual([text("x".repeat(65535))])
    })

    it("a data frame with FIN finishes its message", () => {
      const fed = client(hex("81 01 61"))
      expect(plainAll(fed.frames)).toEqual([text("a")])
      expect(Frame.isIdle(fed.state)).toBe(true)
    })
  })

  describe("reserved bits", () => {
    it.each([
      ["RSV1", "c1 02 78 79"],
      ["RSV2", "a1 02 78 79"],
      ["RSV3", "91 02 78 79"]
    ])(
      "%s set without a negotiated extension fails with 1002 (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_reject_reserved_bits)",
      (_, bytes) => {
        const fed = client(hex(bytes))
        expectFailure(fed, 1002)
        expect(fed.frames).toEqual([])
      }
    )

    it("reserved bits on a control frame without an extension fail with 1002", () => {
      expectFailure(client(hex("c9 00")), 1002)
    })

    it("an RSV bit on an unmasked frame to a server fails with 1002 (RFC 6455 §5.2, §5.5)", () => {
      expectFailure(server(hex("c1 01 61")), 1002)
    })

    it("unclaimed RSV bits are rejected before the masking key arrives (wsproto checks RSV bits before it reads the key; RFC 6455 §5.2)", () => {
      const fed = server(hex("c1 81"))
      expectFailure(fed, 1002)
    })
  })

  describe("opcodes", () => {
    it.each(["3", "4", "5", "6", "7", "b", "c", "d", "e", "f"])(
      "opcode 0x%s is unknown and fails with 1002",
      (opcode) => {
        const fed = client(new Uint8Array([0x80 | parseInt(opcode, 16), 0x02, 0x78, 0x79]))
        expectFailure(fed, 1002)
        expect(fed.frames).toEqual([])
      }
    )

    it("an unknown opcode is reported from the first two bytes, before the extended length (RFC 6455 §5.2, §5.5)", () => {
      expectFailure(client(hex("83 7f")), 1002)
      expectFailure(client(hex("c3 00")), 1002)
    })

    it("an unknown opcode takes precedence over the frame size limit", () => {
      const fed = decodeAll({ role: "client", maxFrameSize: 10 }, hex("8b 7e 01 00"))
      expectFailure(fed, 1002)
    })

    it("the control opcodes are 8, 9 and 10", () => {
      expect([0, 1, 2, 8, 9, 10, 11].map(Frame.isControl)).toEqual([false, false, false, true, true, true, true])
      expect(Frame.Opcode).toEqual({ CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 })
    })
  })

  describe("payload length", () => {
    it("a 7-bit length of up to 125 bytes is read directly", () => {
      const fed = client(concatBytes(hex("82 7d"), repeatByte(0x61, 125)))
      expect(plainAll(fed.frames)).toEqual([binary(repeatByte(0x61, 125))])
    })

    it("a 16-bit length is read big-endian (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_long_message_frame: 81 7e 02 00 + 512 bytes)", () => {
      const fed = client(concatBytes(hex("81 7e 02 00"), repeatByte(0x78, 512)))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([text("x".repeat(512))])
    })

    it("the smallest 16-bit length, 126, is accepted", () => {
      const fed = client(concatBytes(hex("82 7e 00 7e"), repeatByte(1, 126)))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([binary(repeatByte(1, 126))])
    })

    it.each([
      [
        "64 (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_insufficiently_long_message_frame)",
        "81 7e 00 40",
        64
      ],
      ["125", "82 7e 00 7d", 125],
      ["0", "82 7e 00 00", 0]
    ])("a 16-bit length of %s that fits in 7 bits fails with 1002", (_, header, n) => {
      expectFailure(client(concatBytes(hex(header), repeatByte(0x78, n))), 1002)
    })

    it("a 64-bit length is read big-endian (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_very_long_message_frame: 81 7f 00 00 00 00 00 02 00 00 + 131072 bytes)", () => {
      const fed = client(concatBytes(hex("81 7f 00 00 00 00 00 02 00 00"), repeatByte(0x78, 131072)))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([text("x".repeat(131072))])
    })

    it.each([
      [
        "512 (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_insufficiently_very_long_message_frame)",
        "81 7f 00 00 00 00 00 00 02 00",
        512
      ],
      [
        "64 (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_very_insufficiently_very_long_message_frame)",
        "81 7f 00 00 00 00 00 00 00 40",
        64
      ],
      ["65535", "82 7f 00 00 00 00 00 00 ff ff", 0],
      ["0", "82 7f 00 00 00 00 00 00 00 00", 0]
    ])("a 64-bit length of %s that fits in 16 bits fails with 1002", (_, header, n) => {
      expectFailure(client(concatBytes(hex(header), repeatByte(0x78, n))), 1002)
    })

    it("a 64-bit length with the most significant bit set fails with 1002 (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_eight_byte_length_with_msb_set)", () => {
      expectFailure(client(hex("81 7f 80 80 80 80 80 80 80 80")), 1002)
      expectFailure(client(hex("82 7f 80 00 00 00 00 00 00 00")), 1002)
      expectFailure(decodeAll({ role: "client", maxFrameSize: Infinity }, hex("82 7f ff ff ff ff ff ff ff ff")), 1002)
    })

    it("a 64-bit length just below 2^63 is a valid header when there is no size limit (RFC 6455 §5.2, §10.4)", () => {
      const options = { role: "client", maxFrameSize: Infinity, maxMessageSize: Infinity } as const
      const fed = decodeAll(options, hex("82 7f 40 00 00 00 00 00 00 00"))
      expectOk(fed)
      expect(fed.frames).toEqual([])
    })
  })

  describe("masking by role", () => {
    it("a server decoder unmasks a masked frame (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_short_client_message_frame: key abcd)", () => {
      const fed = server(hex("81 82 61 62 63 64 19 1b"))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([text("xy")])
    })

    it("a client decoder rejects a masked frame with 1002 (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_reject_masked_server_frame)", () => {
      expectFailure(client(hex("81 82 61 62 63 64 19 1b")), 1002)
    })

    it("a server decoder rejects an unmasked frame with 1002 (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_reject_unmasked_client_frame)", () => {
      expectFailure(server(hex("81 02 78 79")), 1002)
    })

    it("a server decoder rejects unmasked control frames with 1002", () => {
      expectFailure(server(hex("89 00")), 1002)
      expectFailure(server(hex("88 00")), 1002)
    })

    it("a client decoder rejects a masked frame before the masking key arrives (wsproto checks masking before it reads the key; RFC 6455 §5.2)", () => {
      expectFailure(client(hex("81 82")), 1002)
    })

    it("the masking key stream continues across chunk boundaries (RFC 6455 §5.3)", () => {
      const payload = utf8("some very long data for masking by websocket")
      const wire = rawFrame({ fin: true, opcode: Frame.Opcode.BINARY, payload, mask: hex("31 32 33 34") })
      const fed = server(...splitAt(wire, [7, 8, 11, 17, 30, 31]))
      expectOk(fed)
      expect(toHex(binaryData(fed.frames))).toBe(toHex(payload))
    })
  })

  describe("control frames", () => {
    it.each(["89 7e", "89 7f", "8a 7e", "88 7f"])(
      "a control frame declaring more than 125 bytes (%s) fails with 1002 without waiting for the extended length",
      (bytes) => {
        expectFailure(client(hex(bytes)), 1002)
      }
    )

    it("a non-FIN Ping with an RSV bit fails with 1002 (RFC 6455 §5.2, §5.5: 49 00)", () => {
      expectFailure(client(hex("49 00")), 1002)
    })

    it("a Ping with a 16-bit length of 128 fails with 1002 (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_overly_long_control_frame)", () => {
      expectFailure(client(concatBytes(hex("89 7e 00 80"), repeatByte(0x78, 128))), 1002)
    })

    it("a control frame of exactly 125 bytes is accepted", () => {
      const fed = client(concatBytes(hex("89 7d"), repeatByte(0x70, 125)))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([ping(repeatByte(0x70, 125))])
    })

    it.each(["09 02 78 79", "08 00", "0a 00"])(
      "a control frame without FIN (%s) fails with 1002 (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_reject_unfinished_control_frame)",
      (bytes) => {
        expectFailure(client(hex(bytes)), 1002)
      }
    )

    it("control frames between the fragments of a message are surfaced in order", () => {
      const fed = client(hex("01 01 61 89 01 70 8a 01 71 80 01 62"))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([text("a", true, false), ping("70"), pong("71"), text("b")])
    })

    it("a Ping with a payload is surfaced whole (wsproto tests/test_frame_protocol.py::TestFrameProtocolReceive::test_random_control_frame)", () => {
      const fed = client(concatBytes(hex("89 17"), utf8("give me one ping vasily")))
      expect(plainAll(fed.frames)).toEqual([ping(utf8("give me one ping vasily"))])
    })

    it("an empty Ping and an empty Pong are surfaced", () => {
      expect(plainAll(client(hex("89 00 8a 00")).frames)).toEqual([ping(""), pong("")])
    })
  })
})

describe("§5.4 fragmentation", () => {
  it("a CONTINUATION frame with no message in progress fails with 1002 (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_start_with_continuation; RFC 6455 §5.4)", () => {
    expectFailure(client(hex("80 01 61")), 1002)
    expectFailure(client(hex("00 01 61")), 1002)
  })

  it("a TEXT frame inside a text message fails with 1002 and the earlier frame is still surfaced (RFC 6455 §5.4)", () => {
    const fed = client(hex("01 01 61 81 01 62"))
    expect(plainAll(fed.frames)).toEqual([text("a", true, false)])
    expectFailure(fed, 1002)
  })

  it("a BINARY frame inside a binary message fails with 1002 (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_missing_continuation_1)", () => {
    expectFailure(client(hex("02 01 61 82 01 62")), 1002)
  })

  it("a BINARY frame inside a text message fails with 1002 (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_missing_continuation_2)", () => {
    expectFailure(client(hex("01 01 61 82 01 62")), 1002)
  })

  it("continuation frames take the type of the message's first frame (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_single_binary_frame, ::test_follow_on_binary_frame)", () => {
    const fed = client(hex("02 01 61 00 01 62 80 01 63"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary("61", true, false), binary("62", true, false), binary("63")])
  })

  it("empty data frames are surfaced", () => {
    const fed = client(hex("02 00 80 00"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary("", true, false), binary("")])
  })

  it("a new message may start after the previous one finished", () => {
    const fed = client(hex("01 01 61 80 01 62 82 01 63 81 00"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("a", true, false), text("b"), binary("63"), text("")])
  })
})

describe("§5.5.1 close frames", () => {
  it("an empty close payload gives code 1005 and an empty reason (wsproto tests/test_frame_protocol.py::TestFrameProtocolReceive::test_close_no_code)", () => {
    const fed = client(hex("88 00"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([close(1005, "")])
  })

  it("a one-byte close payload fails with 1002 (wsproto tests/test_frame_protocol.py::TestFrameProtocolReceive::test_close_one_byte_code)", () => {
    expectFailure(client(hex("88 01 0e")), 1002)
  })

  it.each([0, 123, 999, 1004, 1005, 1006, 1015, 1016, 2998, 2999, 5000, 65535])(
    "a received close code %i is invalid and fails with 1002",
    (code) => {
      const fed = client(rawFrame({ fin: true, opcode: Frame.Opcode.CLOSE, payload: closePayload(code) }))
      expectFailure(fed, 1002)
      expect(fed.frames).toEqual([])
    }
  )

  it.each([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999])(
    "a received close code %i is accepted with its reason",
    (code) => {
      const fed = client(rawFrame({ fin: true, opcode: Frame.Opcode.CLOSE, payload: closePayload(code, "why") }))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([close(code, "why")])
    }
  )

  it("a close code without a reason gives an empty reason (wsproto tests/test_frame_protocol.py::TestFrameProtocolReceive::test_close_no_payload)", () => {
    expect(plainAll(client(hex("88 02 03 e8")).frames)).toEqual([close(1000, "")])
  })

  it("an ASCII reason is decoded (wsproto tests/test_frame_protocol.py::TestFrameProtocolReceive::test_close_easy_payload)", () => {
    const fed = client(rawFrame({ fin: true, opcode: 8, payload: closePayload(1000, "tarah old chap") }))
    expect(plainAll(fed.frames)).toEqual([close(1000, "tarah old chap")])
  })

  it("a UTF-8 reason is decoded (wsproto tests/test_frame_protocol.py::TestFrameProtocolReceive::test_close_utf8_payload)", () => {
    const fed = client(rawFrame({ fin: true, opcode: 8, payload: closePayload(1000, "fñør∂") }))
    expect(plainAll(fed.frames)).toEqual([close(1000, "fñør∂")])
  })

  it("a reason with a UTF-16 surrogate encoded as UTF-8 fails with 1007 (wsproto tests/test_frame_protocol.py::TestFrameProtocolReceive::test_close_bad_utf8_payload)", () => {
    expectFailure(client(rawFrame({ fin: true, opcode: 8, payload: closePayload(1000, KOSME_SURROGATE) })), 1007)
  })

  it("a reason cut inside a character fails with 1007 (wsproto tests/test_frame_protocol.py::TestFrameProtocolReceive::test_close_incomplete_utf8_payload)", () => {
    const reason = utf8("fñør∂").subarray(0, utf8("fñør∂").length - 1)
    expectFailure(client(rawFrame({ fin: true, opcode: 8, payload: closePayload(1000, reason) })), 1007)
  })

  it("a reason with an invalid byte fails with 1007 (RFC 6455 §5.5.1, §7.4.1)", () => {
    expectFailure(client(hex("88 03 03 e8 ff")), 1007)
  })

  it("a leading U+FEFF in a close reason is kept", () => {
    expect(plainAll(client(hex("88 05 03 e8 ef bb bf")).frames)).toEqual([close(1000, "\ufeff")])
  })

  it("a masked close frame is decoded by a server", () => {
    const fed = server(rawFrame({ fin: true, opcode: 8, payload: closePayload(1001, "away"), mask: MASK }))
    expect(plainAll(fed.frames)).toEqual([close(1001, "away")])
  })

  it("after a close frame the decoder ignores the rest of the chunk (RFC 6455 §5.5.1)", () => {
    const fed = client(hex("88 00 81 01 61 ff ff"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([close(1005)])
  })

  it("after a close frame the decoder ignores later chunks, even invalid ones", () => {
    const fed = client(hex("88 02 03 e8"), hex("81 01 61"), hex("ff ff ff"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([close(1000)])
    expect(fed.perChunk.slice(1)).toEqual([[], []])
  })

  it("a data frame before a close frame in the same chunk is surfaced first (RFC 6455 §5.5.1)", () => {
    expect(plainAll(client(hex("81 01 61 88 00")).frames)).toEqual([text("a"), close(1005)])
  })

  it("a close frame may arrive in the middle of a fragmented message", () => {
    expect(plainAll(client(hex("01 01 61 88 02 03 e8")).frames)).toEqual([text("a", true, false), close(1000)])
  })
})

describe("close code predicates", () => {
  it("isValidCloseCode accepts 1000-1003, 1007-1014 and 3000-4999 only", () => {
    const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
    const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535, 70000, -1, 1000.5, NaN]
    expect(valid.filter((code) => !Frame.isValidCloseCode(code))).toEqual([])
    expect(invalid.filter((code) => Frame.isValidCloseCode(code))).toEqual([])
  })

  it("isLocalOnlyCloseCode holds for 1005, 1006 and 1015 only", () => {
    expect([1000, 1004, 1005, 1006, 1014, 1015, 1016].map(Frame.isLocalOnlyCloseCode)).toEqual([
      false,
      false,
      true,
      true,
      false,
      true,
      false
    ])
  })

  it("CloseReason names the codes as wsproto does, BAD_GATEWAY 1014 included", () => {
    expect(Frame.CloseReason.NORMAL_CLOSURE).toBe(1000)
    expect(Frame.CloseReason.NO_STATUS_RCVD).toBe(1005)
    expect(Frame.CloseReason.MESSAGE_TOO_BIG).toBe(1009)
    expect(Frame.CloseReason.BAD_GATEWAY).toBe(1014)
    expect(Frame.CloseReason.TLS_HANDSHAKE_FAILED).toBe(1015)
  })
})

describe("§5.6 and §8.1 UTF-8 of text messages", () => {
  it("a text frame of multi-byte characters is decoded (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_single_text_frame)", () => {
    expect(plainAll(client(concatBytes(hex("81 09"), FNORD)).frames)).toEqual([text("fñör∂")])
  })

  it("characters split across frames are carried to the frame that completes them (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_follow_on_text_frame, ::test_final_text_frame)", () => {
    const fed = client(hex("01 04 66 c3 b1 c3"), hex("00 03 b6 72 e2"), hex("80 02 88 82"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("fñ", true, false), text("ör", true, false), text("∂")])
  })

  it("a final frame ending inside a character fails with 1007 (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_incomplete_unicode)", () => {
    expectFailure(client(hex("81 04 66 c3 b1 c3")), 1007)
  })

  it("Latin-1 bytes in a non-final frame fail with 1007 at once (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_not_even_unicode)", () => {
    expectFailure(client(hex("01 05 66 f1 f6 72 64")), 1007)
  })

  it("a UTF-16 surrogate encoded as UTF-8 fails with 1007 (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_bad_unicode)", () => {
    expectFailure(client(concatBytes(hex("81 14"), KOSME_SURROGATE)), 1007)
  })

  it("a 65535-byte text frame split at byte 32777 gives two pieces of the text (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_split_message)", () => {
    const wire = concatBytes(hex("81 7e ff ff"), repeatByte(0x78, 65535))
    const fed = client(...splitAt(wire, [4 + 32777]))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("x".repeat(32777), false, false), text("x".repeat(65535 - 32777))])
  })

  it("64 × ∂ split at payload byte 64 gives 21 characters, then the remaining 43 (wsproto tests/test_frame_protocol.py::TestMessageDecoder::test_split_unicode_message)", () => {
    const wire = concatBytes(hex("81 7e 00 c0"), utf8("∂".repeat(64)))
    const fed = client(...splitAt(wire, [4 + 64]))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("∂".repeat(21), false, false), text("∂".repeat(43))])
  })

  it.each([
    ["an invalid byte after ASCII in a non-final frame", "01 02 61 ff"],
    ["a complete surrogate in a non-final frame", "01 03 ed a0 80"],
    ["an overlong two-byte sequence in a non-final frame", "01 02 c0 80"],
    ["a code point above U+10FFFF, at its second byte", "01 02 f4 90"],
    ["a final frame ending inside a character", "81 02 e2 82"]
  ])("%s fails with 1007 (RFC 6455 §8.1)", (_, bytes) => {
    expectFailure(client(hex(bytes)), 1007)
  })

  it.each(["c0", "c1", "f5", "f8", "fe", "ff", "80", "bf"])(
    "a byte %s that can never start a character fails at once in a non-final frame",
    (byte) => {
      expectFailure(client(hex(`01 01 ${byte}`)), 1007)
    }
  )

  it.each([
    ["a surrogate lead ED A0", "01 02 ed a0"],
    ["an overlong three-byte lead E0 80", "01 02 e0 80"],
    ["an overlong four-byte lead F0 80", "01 02 f0 80"],
    ["a lead byte followed by ASCII", "01 02 e2 41"]
  ])("%s fails at its second byte, before the character is complete", (_, bytes) => {
    expectFailure(client(hex(bytes)), 1007)
  })

  it("an invalid continuation of a character carried from an earlier frame fails with 1007", () => {
    const fed = client(hex("01 01 e2"), hex("80 01 41"))
    expect(plainAll(fed.frames)).toEqual([text("", true, false)])
    expectFailure(fed, 1007)
  })

  it("an incomplete but valid character at the end of a non-final frame is not an error", () => {
    const fed = client(hex("01 02 e2 82"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("", true, false)])
  })

  it("€ split across frames gives \"\" and then \"€\" (RFC 6455 §5.6: a character may be split across frames)", () => {
    const fed = client(hex("01 02 e2 82"), hex("80 01 ac"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("", true, false), text("€")])
  })

  it("€€€ in one frame delivered as 3+2+3+3 bytes gives \"\", \"€\", \"€\", \"€\" (RFC 6455 §5.6: a character may be split across frames)", () => {
    const wire = hex("81 09 e2 82 ac e2 82 ac e2 82 ac")
    const fed = client(...splitAt(wire, [3, 5, 8]))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([
      text("", false, false),
      text("€", false, false),
      text("€", false, false),
      text("€")
    ])
  })

  it("a four-byte character delivered one byte at a time is surfaced once complete", () => {
    const fed = client(hex("81 04"), hex("f0"), hex("9f"), hex("98"), hex("83"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([
      text("", false, false),
      text("", false, false),
      text("", false, false),
      text("😃")
    ])
  })

  it("a message whose empty final frame leaves a character incomplete fails with 1007", () => {
    const fed = client(hex("01 01 e2"), hex("80 00"))
    expect(plainAll(fed.frames)).toEqual([text("", true, false)])
    expectFailure(fed, 1007)
  })

  it("a control frame between the frames of a split character does not disturb it", () => {
    const fed = client(hex("01 01 e2 89 00 80 02 82 ac"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("", true, false), ping(""), text("€")])
  })

  it("a U+FEFF at the start of a text message is kept as text, not dropped as a BOM", () => {
    expect(plainAll(client(hex("81 04 ef bb bf 61")).frames)).toEqual([text("\ufeffa")])
  })

  it("a U+FEFF at the start of a later piece of a text message is kept", () => {
    const fed = client(hex("01 01 61"), hex("80 03 ef bb bf"))
    expect(plainAll(fed.frames)).toEqual([text("a", true, false), text("\ufeff")])
  })

  it("a U+FEFF split across frames at the start of a message is kept", () => {
    const fed = client(hex("01 01 ef"), hex("80 02 bb bf"))
    expect(plainAll(fed.frames)).toEqual([text("", true, false), text("\ufeff")])
  })

  it("UTF-8 decoding restarts with each message", () => {
    const fed = client(hex("81 02 c3 a9 81 02 c3 a9"))
    expect(plainAll(fed.frames)).toEqual([text("é"), text("é")])
  })

  describe("long text (64 bytes and more)", () => {
    const long = "é€😃a語".repeat(40)

    it("a long non-ASCII text message is decoded", () => {
      const fed = client(rawFrame({ fin: true, opcode: 1, payload: utf8(long) }))
      expectOk(fed)
      expect(plainAll(fed.frames)).toEqual([text(long)])
    })

    it("a long text message starting with U+FEFF keeps it", () => {
      const fed = client(rawFrame({ fin: true, opcode: 1, payload: utf8("\ufeff" + long) }))
      expect(plainAll(fed.frames)).toEqual([text("\ufeff" + long)])
    })

    it.each([
      ["an invalid byte at the end", "ff"],
      ["a surrogate at the end", "ed a0 80"],
      ["an overlong two-byte sequence", "c1 bf"],
      ["an overlong three-byte sequence", "e0 9f bf"],
      ["a code point above U+10FFFF", "f4 90 80 80"],
      ["a stray continuation byte", "80"],
      ["a lead byte followed by ASCII", "e2 41 41"]
    ])("a long text message with %s fails with 1007", (_, bad) => {
      const payload = concatBytes(utf8(long), hex(bad), utf8("tail"))
      expectFailure(client(rawFrame({ fin: true, opcode: 1, payload })), 1007)
    })

    it("a long final text message ending inside a character fails with 1007", () => {
      const payload = concatBytes(utf8(long), hex("f0 9f 98"))
      expectFailure(client(rawFrame({ fin: true, opcode: 1, payload })), 1007)
    })

    it("a long text message ending with a U+FFFD keeps it, and invents none", () => {
      const payload = utf8(long + "\ufffd")
      expect(plainAll(client(rawFrame({ fin: true, opcode: 1, payload })).frames)).toEqual([text(long + "\ufffd")])
    })

    it("a long close reason with non-ASCII text is decoded", () => {
      const reason = "é€😃a語".repeat(9) // 117 bytes: the payload stays within 125
      const fed = client(rawFrame({ fin: true, opcode: 8, payload: closePayload(1000, reason) }))
      expect(plainAll(fed.frames)).toEqual([close(1000, reason)])
    })

    it("a long close reason with an invalid sequence fails with 1007", () => {
      const payload = closePayload(1000, concatBytes(utf8("é".repeat(40)), hex("ed a0 80")))
      expectFailure(client(rawFrame({ fin: true, opcode: 8, payload })), 1007)
    })
  })

  it("binary messages are not checked as UTF-8", () => {
    const fed = client(hex("82 02 ff c0"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary("ffc0")])
  })
})

describe("size limits", () => {
  it("the default limit is 16 MiB", () => {
    expect(Frame.DEFAULT_MAX_SIZE).toBe(16 * 1024 * 1024)
  })

  it("the largest 64-bit length, 2^63 - 1, is a valid header when there is no size limit", () => {
    const options = { role: "client", maxFrameSize: Infinity, maxMessageSize: Infinity } as const
    const fed = decodeAll(options, hex("82 7f 7f ff ff ff ff ff ff ff"), hex("01 02 03"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary("010203", false, false)])
  })

  it("a frame declaring exactly the default limit is accepted at header time", () => {
    const fed = client(hex("82 7f 00 00 00 00 01 00 00 00"))
    expectOk(fed)
    expect(fed.frames).toEqual([])
  })

  it("a frame declaring one byte over the default limit fails with 1009 at header time", () => {
    expectFailure(client(hex("82 7f 00 00 00 00 01 00 00 01")), 1009)
  })

  it("a frame over maxFrameSize fails with 1009 as soon as its header arrives, before its payload", () => {
    const fed = decodeAll({ role: "client", maxFrameSize: 100 }, hex("82 7e 00 c8"))
    expectFailure(fed, 1009)
    expect(fed.frames).toEqual([])
  })

  it("a masked frame over maxFrameSize fails with 1009 once its header and key arrive, before its payload", () => {
    const fed = decodeAll({ role: "server", maxFrameSize: 100 }, hex("82 fe 00 c8 61 62 63 64"))
    expectFailure(fed, 1009)
  })

  it("a frame of exactly maxFrameSize is accepted", () => {
    const fed = decodeAll({ role: "client", maxFrameSize: 100 }, concatBytes(hex("82 64"), repeatByte(7, 100)))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary(repeatByte(7, 100))])
  })

  it("maxFrameSize applies to control frames too", () => {
    expectFailure(decodeAll({ role: "client", maxFrameSize: 10 }, concatBytes(hex("89 0b"), repeatByte(1, 11))), 1009)
  })

  it("a message growing past maxMessageSize across fragments fails with 1009 at the header of the fragment", () => {
    const options = { role: "client", maxMessageSize: 10 } as const
    const fed = decodeAll(options, concatBytes(hex("01 06"), utf8("xxxxxx"), hex("80 06")))
    expect(plainAll(fed.frames)).toEqual([text("xxxxxx", true, false)])
    expectFailure(fed, 1009)
  })

  it("a fragmented message of exactly maxMessageSize is accepted", () => {
    const options = { role: "client", maxMessageSize: 10 } as const
    const fed = decodeAll(options, concatBytes(hex("02 06"), repeatByte(1, 6), hex("80 04"), repeatByte(2, 4)))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary(repeatByte(1, 6), true, false), binary(repeatByte(2, 4))])
  })

  it("the message size starts again from zero with each message", () => {
    const options = { role: "client", maxMessageSize: 10 } as const
    const one = concatBytes(hex("82 0a"), repeatByte(1, 10))
    const fed = decodeAll(options, one, one, one)
    expectOk(fed)
    expect(fed.frames).toHaveLength(3)
  })

  it("control frames inside a message do not count towards maxMessageSize", () => {
    const options = { role: "client", maxMessageSize: 10 } as const
    const fed = decodeAll(
      options,
      concatBytes(hex("02 05"), repeatByte(1, 5), hex("89 05"), repeatByte(2, 5), hex("80 05"), repeatByte(3, 5))
    )
    expectOk(fed)
    expect(fed.frames).toHaveLength(3)
  })

  it("maxFrameSize and maxMessageSize of Infinity remove the limits (RFC 6455 §5.2, §10.4)", () => {
    const options = { role: "client", maxFrameSize: Infinity, maxMessageSize: Infinity } as const
    const fed = decodeAll(options, hex("82 7f 40 00 00 00 00 00 00 00"), repeatByte(9, 10))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary(repeatByte(9, 10), false, false)])
  })

  it("a decoder failed with 1009 stays failed", () => {
    const first = decodeAll({ role: "client", maxFrameSize: 1 }, hex("82 02"))
    const again = Frame.decode(first.state, hex("81 01 61"))
    expect(again.frames).toEqual([])
    expect(again.error).toBe(first.error)
  })
})

describe("streaming", () => {
  it("a frame fed as 82 | 7e 01 | 00 + 10 bytes | 246 bytes gives nothing, nothing, 10 bytes, 246 bytes (as wsproto surfaces a partial frame)", () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => 255 - i)
    const fed = client(hex("82"), hex("7e 01"), concatBytes(hex("00"), payload.subarray(0, 10)), payload.subarray(10))
    expect(fed.perChunk.map(plainAll)).toEqual([
      [],
      [],
      [binary(payload.subarray(0, 10), false, false)],
      [binary(payload.subarray(10))]
    ])
  })

  it("a header split after its first byte is completed by the next chunk (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_not_enough_for_header)", () => {
    const fed = client(hex("81"), hex("02 78 79"))
    expect(fed.perChunk[0]).toEqual([])
    expect(plainAll(fed.frames)).toEqual([text("xy")])
  })

  it("a 16-bit length split across chunks is completed by the next chunk (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_not_enough_for_long_length)", () => {
    const wire = concatBytes(hex("81 7e 02 00"), repeatByte(0x78, 512))
    const fed = client(...splitAt(wire, [3]))
    expect(fed.perChunk[0]).toEqual([])
    expect(plainAll(fed.frames)).toEqual([text("x".repeat(512))])
  })

  it("a 64-bit length split across chunks is completed by the next chunk (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_not_enough_for_very_long_length)", () => {
    const wire = concatBytes(hex("81 7f 00 00 00 00 00 02 00 00"), repeatByte(0x78, 131072))
    const fed = client(...splitAt(wire, [7]))
    expect(fed.perChunk[0]).toEqual([])
    expect(plainAll(fed.frames)).toEqual([text("x".repeat(131072))])
  })

  it("a masking key split across chunks is completed by the next chunk (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_not_enough_for_mask)", () => {
    const fed = server(...splitAt(hex("81 82 61 62 63 64 19 1b"), [4]))
    expect(fed.perChunk[0]).toEqual([])
    expect(plainAll(fed.frames)).toEqual([text("xy")])
  })

  it("a header delivered one byte at a time is assembled", () => {
    const wire = rawFrame({ fin: true, opcode: 2, payload: repeatByte(5, 70000), mask: MASK })
    const fed = server(...chunksOf(wire.subarray(0, 14), 1), wire.subarray(14))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary(repeatByte(5, 70000))])
  })

  it("each chunk of a data frame's payload is surfaced as it arrives (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_partial_message_frames)", () => {
    const payload = repeatByte(0x78, 131072)
    const fed = client(hex("81 7f 00 00 00 00 00 02 00 00"), ...chunksOf(payload, 1024))
    expectOk(fed)
    expect(fed.perChunk[0]).toEqual([])
    const pieces = fed.perChunk.slice(1)
    expect(pieces).toHaveLength(128)
    pieces.forEach((frames, i) => {
      const last = i === pieces.length - 1
      expect(plainAll(frames)).toEqual([text("x".repeat(1024), last, last)])
    })
  })

  it("a control frame is surfaced only when its whole payload has arrived (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_partial_control_frame)", () => {
    const fed = client(...chunksOf(concatBytes(hex("89 40"), repeatByte(0x78, 64)), 11))
    expectOk(fed)
    expect(fed.perChunk.slice(0, -1).every((frames) => frames.length === 0)).toBe(true)
    expect(plainAll(fed.perChunk[fed.perChunk.length - 1]!)).toEqual([ping(repeatByte(0x78, 64))])
  })

  it("a frame split just before its last 4 bytes gives a piece and then the 4 bytes (wsproto tests/test_frame_protocol.py::TestFrameDecoder::test_long_message_sliced)", () => {
    const wire = concatBytes(hex("81 7e ff ff"), repeatByte(0x78, 65535))
    const fed = client(...splitAt(wire, [65535]))
    expect(plainAll(fed.frames)).toEqual([text("x".repeat(65531), false, false), text("xxxx")])
  })

  it("a frame declaring 2^62 bytes surfaces the bytes that arrive (RFC 6455 §5.2, §10.4)", () => {
    const options = { role: "client", maxFrameSize: Infinity, maxMessageSize: Infinity } as const
    const fed = decodeAll(options, hex("82 7f 40 00 00 00 00 00 00 00"), repeatByte(9, 10))
    expect(fed.perChunk[0]).toEqual([])
    expect(plainAll(fed.perChunk[1]!)).toEqual([binary(repeatByte(9, 10), false, false)])
  })

  it("a masked frame split as 7, 1, 5, 17, 26 bytes gives pieces of 1, 1, 5, 17, 26 bytes (RFC 6455 §5.3)", () => {
    const payload = Uint8Array.from({ length: 50 }, (_, i) => i * 3)
    const wire = rawFrame({ fin: true, opcode: 2, payload, mask: MASK })
    const fed = server(...splitAt(wire, [7, 8, 13, 30]))
    expectOk(fed)
    const pieces = fed.frames.map((frame) => (frame._tag === "Binary" ? frame.data : new Uint8Array(0)))
    expect(pieces.map((piece) => piece.length)).toEqual([1, 1, 5, 17, 26])
    expect(toHex(concatBytes(...pieces))).toBe(toHex(payload))
  })

  it("a Ping split across reads is surfaced once, whole, after the second read (RFC 6455 §5.5)", () => {
    const fed = client(hex("89 05 61 62"), hex("63 64 65"))
    expect(fed.perChunk).toEqual([[], expect.anything()])
    expect(plainAll(fed.frames)).toEqual([ping(utf8("abcde"))])
  })

  it("several frames in one chunk are surfaced in order, then the error (RFC 6455 §7.1.7)", () => {
    const fed = client(hex("81 01 61 8a 01 62 83 00 81 01 63"))
    expect(plainAll(fed.frames)).toEqual([text("a"), pong("62")])
    expectFailure(fed, 1002)
  })

  it("a failed decoder stays failed: the same error and no frames for any later chunk (RFC 6455 §7.1.7)", () => {
    const first = client(hex("83 00"))
    const later = Frame.decode(first.state, hex("81 01 61"))
    expect(later.frames).toEqual([])
    expect(later.error).toBe(first.error)
    expect(Frame.decode(later.state, new Uint8Array(0)).error).toBe(first.error)
  })

  it("an empty chunk surfaces nothing and changes nothing", () => {
    const state = Frame.decoder({ role: "client" })
    const result = Frame.decode(state, new Uint8Array(0))
    expect(result.frames).toEqual([])
    expect(result.error).toBeUndefined()
    expect(plainAll(Frame.decode(result.state, hex("81 01 61")).frames)).toEqual([text("a")])
  })

  it("a decoder state is an immutable value that can be stepped more than once", () => {
    const initial = Frame.decoder({ role: "client" })
    const inMessage = Frame.decode(initial, hex("01 01 61")).state
    expect(plainAll(Frame.decode(initial, hex("81 01 62")).frames)).toEqual([text("b")])
    expect(plainAll(Frame.decode(inMessage, hex("80 01 62")).frames)).toEqual([text("b")])
    expectFailure(feed(inMessage, hex("81 01 62")), 1002)
    const halfHeader = Frame.decode(initial, hex("81")).state
    expect(plainAll(Frame.decode(halfHeader, hex("01 61")).frames)).toEqual([text("a")])
    expect(plainAll(Frame.decode(halfHeader, hex("02 61 62")).frames)).toEqual([text("ab")])
  })

  it("isIdle holds between frames and messages only", () => {
    const initial = Frame.decoder({ role: "client" })
    expect(Frame.isIdle(initial)).toBe(true)
    expect(Frame.isIdle(Frame.decode(initial, hex("81")).state)).toBe(false)
    expect(Frame.isIdle(Frame.decode(initial, hex("81 02 61")).state)).toBe(false)
    expect(Frame.isIdle(Frame.decode(initial, hex("01 01 61")).state)).toBe(false)
    expect(Frame.isIdle(Frame.decode(initial, hex("01 01 61 89 00")).state)).toBe(false)
    expect(Frame.isIdle(Frame.decode(initial, hex("81 01 61 89 00")).state)).toBe(true)
  })

  it("the decoder never writes to its input by default", () => {
    const wire = rawFrame({ fin: true, opcode: 2, payload: repeatByte(0x55, 300), mask: MASK })
    const copy = wire.slice()
    server(...splitAt(wire, [10, 100]))
    expect(toHex(wire)).toBe(toHex(copy))
  })
})

describe("assembleMessages", () => {
  const assembled = (role: Frame.Role, ...chunks: ReadonlyArray<Uint8Array>): Fed =>
    decodeAll({ role, assembleMessages: true }, ...chunks)

  it("a fragmented text message is surfaced once, whole, after interleaved control frames", () => {
    const fed = assembled("client", hex("01 01 61 89 01 70 00 01 62"), hex("80 01 63"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([ping("70"), text("abc")])
  })

  it("a text message whose characters are split across frames and chunks is surfaced whole", () => {
    const wire = concatBytes(hex("01 04 66 c3 b1 c3"), hex("00 03 b6 72 e2"), hex("80 02 88 82"))
    const fed = assembled("client", ...chunksOf(wire, 1))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("fñör∂")])
  })

  it("a fragmented binary message is surfaced once with its bytes concatenated", () => {
    const fed = assembled("client", hex("02 02 01 02"), hex("00 00 00 01 03"), hex("80 02 04 05"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary("0102030405")])
  })

  it("a masked message split anywhere is surfaced once, whole", () => {
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff)
    const wire = concatBytes(
      rawFrame({ fin: false, opcode: 2, payload: payload.subarray(0, 300), mask: MASK }),
      rawFrame({ fin: true, opcode: 0, payload: payload.subarray(300), mask: hex("01 02 03 04") })
    )
    const fed = assembled("server", ...chunksOf(wire, 37))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([binary(payload)])
  })

  it("empty messages are surfaced", () => {
    const fed = assembled("client", hex("81 00 02 00 80 00"))
    expect(plainAll(fed.frames)).toEqual([text(""), binary("")])
  })

  it("invalid UTF-8 still fails at once in a non-final frame", () => {
    expectFailure(assembled("client", hex("01 02 61 ff")), 1007)
  })

  it("maxMessageSize still applies across fragments", () => {
    const fed = decodeAll(
      { role: "client", assembleMessages: true, maxMessageSize: 4 },
      hex("02 03 01 02 03 80 02 04 05")
    )
    expect(fed.frames).toEqual([])
    expectFailure(fed, 1009)
  })

  it("a close frame is still surfaced, and ends decoding", () => {
    const fed = assembled("client", hex("01 01 61 88 00 80 01 62"))
    expect(plainAll(fed.frames)).toEqual([close(1005)])
  })
})

describe("unmaskInPlace", () => {
  const masked = (): Uint8Array =>
    concatBytes(
      rawFrame({ fin: false, opcode: 1, payload: utf8("fñör∂ ".repeat(40)), mask: MASK }),
      rawFrame({ fin: true, opcode: 9, payload: utf8("ping"), mask: hex("de ad be ef") }),
      rawFrame({ fin: true, opcode: 0, payload: utf8("€".repeat(100)), mask: hex("01 02 03 04") }),
      rawFrame({ fin: true, opcode: 2, payload: repeatByte(0xa5, 200), mask: hex("ff 00 ff 00") })
    )

  it("unmasking in place gives the same frames as the copying mode", () => {
    const cuts = [3, 9, 100, 181, 250, 260, 300, 450, 451, 600]
    const copying = decodeAll({ role: "server" }, ...splitAt(masked(), cuts))
    const inPlace = decodeAll({ role: "server", unmaskInPlace: true }, ...splitAt(masked(), cuts))
    expectOk(inPlace)
    expect(plainAll(inPlace.frames)).toEqual(plainAll(copying.frames))
    const texts = inPlace.frames.map((frame) => (frame._tag === "Text" ? frame.data : "")).join("")
    expect(texts).toBe("fñör∂ ".repeat(40) + "€".repeat(100))
  })

  it("unmasking in place writes the unmasked payload into the input chunk", () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 13) & 0xff)
    const wire = rawFrame({ fin: true, opcode: 2, payload, mask: MASK })
    const fed = decodeAll({ role: "server", unmaskInPlace: true }, wire)
    expect(plainAll(fed.frames)).toEqual([binary(payload)])
    expect(toHex(wire.subarray(8))).toBe(toHex(payload))
  })

  it("unmasking in place across chunk boundaries modifies each chunk's payload bytes", () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 13) & 0xff)
    const wire = rawFrame({ fin: true, opcode: 2, payload, mask: MASK })
    const chunks = splitAt(wire, [5, 71, 150])
    const fed = decodeAll({ role: "server", unmaskInPlace: true }, ...chunks)
    expect(toHex(binaryData(fed.frames))).toBe(toHex(payload))
    expect(toHex(wire.subarray(8))).toBe(toHex(payload))
  })

  it("a masked payload of 200 KiB cut at odd offsets unmasks correctly, copying and in place", () => {
    const payload = Uint8Array.from({ length: 200 * 1024 }, (_, i) => (i * 131 + (i >>> 8)) & 0xff)
    const cuts = [3, 7, 1030, 2051, 70001, 70002, 140003, 204000]
    const wire = () => rawFrame({ fin: true, opcode: 2, payload, mask: hex("9a 3c 55 e1") })
    for (const unmaskInPlace of [false, true]) {
      const fed = decodeAll({ role: "server", unmaskInPlace }, ...splitAt(wire(), cuts))
      expectOk(fed)
      expect(toHex(binaryData(fed.frames))).toBe(toHex(payload))
    }
  })

  it("a client frame of 200 KiB is masked byte for byte as the reference masking", () => {
    const payload = Uint8Array.from({ length: 200 * 1024 + 3 }, (_, i) => (i * 17) & 0xff)
    const key = hex("9a 3c 55 e1")
    expect(encodedHex(Frame.encodeMessage(clientEncoder(key), payload))).toBe(
      toHex(rawFrame({ fin: true, opcode: 2, payload, mask: key }))
    )
  })

  it("the copying mode leaves the input untouched", () => {
    const wire = masked()
    const copy = wire.slice()
    decodeAll({ role: "server" }, wire)
    expect(toHex(wire)).toBe(toHex(copy))
  })
})

describe("encoder: frames a server sends (RFC 6455 §5.2; wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_ping_without_payload to ::test_message_length_min_eight_byte)", () => {
  const enc = serverEncoder()

  it.each([
    ["text \"hi\"", () => Frame.encodeMessage(enc, "hi"), "81026869"],
    ["binary 00 01", () => Frame.encodeMessage(enc, hex("00 01")), "82020001"],
    [
      "an empty Ping (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_ping_without_payload)",
      () => Frame.encodePing(enc),
      "8900"
    ],
    ["Ping \"ab\"", () => Frame.encodePing(enc, utf8("ab")), "89026162"],
    [
      "an empty Pong (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_pong_without_payload)",
      () => Frame.encodePong(enc),
      "8a00"
    ],
    ["Pong \"z\"", () => Frame.encodePong(enc, utf8("z")), "8a017a"],
    ["empty text", () => Frame.encodeMessage(enc, ""), "8100"],
    ["empty binary", () => Frame.encodeMessage(enc, new Uint8Array(0)), "8200"]
  ])("%s is encoded byte for byte (RFC 6455 §5.2)", (_, step, expected) => {
    expect(encodedHex(step())).toBe(expected)
  })

  it("a Ping and a Pong carry a UTF-8 payload as is (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_ping_with_payload, ::test_pong_with_payload)", () => {
    expect(encodedHex(Frame.encodePing(enc, utf8(SHRUG)))).toBe("890d" + toHex(utf8(SHRUG)))
    expect(encodedHex(Frame.encodePong(enc, utf8(SHRUG)))).toBe("8a0d" + toHex(utf8(SHRUG)))
  })

  it("a string is sent as TEXT and bytes as BINARY (RFC 6455 §5.6)", () => {
    expect(encodedHex(Frame.encodeMessage(enc, "ab"))).toBe("81026162")
    expect(encodedHex(Frame.encodeMessage(enc, utf8("ab")))).toBe("82026162")
    expect(encodedHex(Frame.encodeMessage(enc, Buffer.from("ab")))).toBe("82026162")
  })

  it("a string with a lone surrogate is sent as U+FFFD, never as invalid UTF-8", () => {
    expect(encodedHex(Frame.encodeMessage(enc, "a\ud800b"))).toBe("810561efbfbd62")
    expect(encodedHex(Frame.encodeClose(enc, 1000, "\udc00"))).toBe("880503e8efbfbd")
  })

  it("a binary message is one frame (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_single_short_binary_data)", () => {
    const payload = utf8("it's all just ascii, right?")
    expect(encodedHex(Frame.encodeMessage(enc, payload))).toBe("821b" + toHex(payload))
  })

  it("a text message of astral characters is UTF-8 encoded (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_single_short_text_data)", () => {
    expect(encodedHex(Frame.encodeMessage(enc, EMOJI))).toBe("8110f09f9883f09f9884f09f9983f09f9889")
  })

  it("a binary message in two pieces is BINARY without FIN, then CONTINUATION with FIN (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_multiple_short_binary_data)", () => {
    const payload = utf8("it's all just ascii, right?")
    const first = right(Frame.encodeMessage(enc, payload, false))
    expect(hexOf(first)).toBe("021b" + toHex(payload))
    expect(encodedHex(Frame.encodeMessage(first.state, utf8("sure no worries")))).toBe(
      "800f" + toHex(utf8("sure no worries"))
    )
  })

  it("a text message in two pieces is TEXT without FIN, then CONTINUATION with FIN (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_multiple_short_text_data)", () => {
    const first = right(Frame.encodeMessage(enc, EMOJI, false))
    expect(hexOf(first)).toBe("0110f09f9883f09f9884f09f9983f09f9889")
    expect(encodedHex(Frame.encodeMessage(first.state, "🙈🙉🙊"))).toBe("800cf09f9988f09f9989f09f998a")
  })

  it("pieces of messages alternate as wsproto's example: 01 01 61, 00 01 62, 80 01 63, 02 01 64, 80 01 65", () => {
    const steps: Array<[string | Uint8Array, boolean]> = [
      ["a", false],
      ["b", false],
      ["c", true],
      [utf8("d"), false],
      [utf8("e"), true]
    ]
    let state = enc
    const out: Array<string> = []
    for (const [data, fin] of steps) {
      const encoded = right(Frame.encodeMessage(state, data, fin))
      out.push(hexOf(encoded))
      state = encoded.state
    }
    expect(out).toEqual(["010161", "000162", "800163", "020164", "800165"])
  })

  it("a text piece inside a binary message is a LocalProtocolError and the message stays open (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_mismatched_data_messages2)", () => {
    const first = right(Frame.encodeMessage(enc, utf8("a"), false))
    expect(left(Frame.encodeMessage(first.state, "b"))).toBeInstanceOf(LocalProtocolError)
    expect(left(Frame.encodeMessage(first.state, "b")).reason).toBe("InvalidState")
    expect(encodedHex(Frame.encodeMessage(first.state, utf8("b")))).toBe("800162")
  })

  it("a binary piece inside a text message is a LocalProtocolError and the message stays open (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_mismatched_data_messages1)", () => {
    const first = right(Frame.encodeMessage(enc, "a", false))
    expect(left(Frame.encodeMessage(first.state, utf8("b")))).toBeInstanceOf(LocalProtocolError)
    expect(encodedHex(Frame.encodeMessage(first.state, "b"))).toBe("800162")
  })

  it("control frames may be sent between the pieces of a message (01 01 61, 89 01 70, 80 01 62)", () => {
    const first = right(Frame.encodeMessage(enc, "a", false))
    const pinged = right(Frame.encodePing(first.state, utf8("p")))
    expect(hexOf(pinged)).toBe("890170")
    expect(encodedHex(Frame.encodeMessage(pinged.state, "b"))).toBe("800162")
  })

  it.each([
    [125, "827d"],
    [126, "827e007e"],
    [65535, "827effff"],
    [65536, "827f0000000000010000"]
  ])(
    "a %i-byte payload uses the shortest length encoding (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_message_length_max_short to ::test_message_length_min_eight_byte)",
    (n, header) => {
      const payload = Uint8Array.from({ length: n }, (_, i) => i & 0xff)
      expect(encodedHex(Frame.encodeMessage(enc, payload))).toBe(header + toHex(payload))
    }
  )

  it.each([0, 1, 125, 126, 5000, 65535, 65536, 70000])(
    "a text message of %i UTF-8 bytes is framed byte for byte as the reference framing, by a server and a client",
    (n) => {
      const message = "€".repeat(Math.floor(n / 3)) + "a".repeat(n % 3)
      const payload = utf8(message)
      expect(payload.length).toBe(n)
      expect(encodedHex(Frame.encodeMessage(enc, message))).toBe(toHex(rawFrame({ fin: true, opcode: 1, payload })))
      expect(encodedHex(Frame.encodeMessage(clientEncoder(hex("a1 b2 c3 d4")), message))).toBe(
        toHex(rawFrame({ fin: true, opcode: 1, payload, mask: hex("a1 b2 c3 d4") }))
      )
    }
  )

  it.each([1, 2, 3, 4, 7, 100, 1000])("a text message split with fragmentSize %i is framed byte for byte", (size) => {
    const message = "a€😃é".repeat(50)
    const payload = utf8(message)
    const frames: Array<Uint8Array> = []
    for (let offset = 0; offset < payload.length; offset += size) {
      frames.push(
        rawFrame({
          fin: offset + size >= payload.length,
          opcode: offset === 0 ? 1 : 0,
          payload: payload.subarray(offset, offset + size),
          mask: RFC_KEY
        })
      )
    }
    const encoded = encodedHex(Frame.encodeMessage(clientEncoder(RFC_KEY, { fragmentSize: size }), message))
    expect(encoded).toBe(toHex(concatBytes(...frames)))
  })

  it("a server payload over 16 KiB is returned as the header and the caller's payload, not copied", () => {
    const payload = repeatByte(3, 16 * 1024 + 1)
    const encoded = right(Frame.encodeMessage(enc, payload))
    expect(encoded.bytes).toHaveLength(2)
    expect(toHex(encoded.bytes[0]!)).toBe("827e4001")
    expect(encoded.bytes[1]).toBe(payload)
  })

  it("a server payload of at most 16 KiB is returned as one chunk", () => {
    const encoded = right(Frame.encodeMessage(enc, repeatByte(3, 16 * 1024)))
    expect(encoded.bytes).toHaveLength(1)
    expect(encoded.bytes[0]!.length).toBe(4 + 16 * 1024)
  })

  it("an encoder state is an immutable value that can be stepped more than once", () => {
    const open = right(Frame.encodeMessage(enc, "a", false)).state
    expect(encodedHex(Frame.encodeMessage(enc, utf8("b")))).toBe("820162")
    expect(encodedHex(Frame.encodeMessage(open, "b"))).toBe("800162")
    expect(encodedHex(Frame.encodeMessage(open, "c"))).toBe("800163")
  })
})

describe("encoder: control frame limits (RFC 6455 §5.5; wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_control_frame_with_overly_long_payload)", () => {
  const enc = serverEncoder()

  it("a Ping of 125 bytes gives a 127-byte frame", () => {
    expect(encodedBytes(Frame.encodePing(enc, repeatByte(1, 125))).length).toBe(127)
  })

  it("a Ping of 126 bytes is a LocalProtocolError", () => {
    const error = left(Frame.encodePing(enc, repeatByte(1, 126)))
    expect(error).toBeInstanceOf(LocalProtocolError)
    expect(error.reason).toBe("InvalidEvent")
    expect(error.message).toBe(
      "A Ping payload of 126 bytes is over the 125-byte limit of a control frame (RFC 6455 §5.5): send at most 125 bytes"
    )
  })

  it("a Pong of 126 bytes is a LocalProtocolError (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_control_frame_with_overly_long_payload)", () => {
    expect(left(Frame.encodePong(enc, repeatByte(1, 126)))).toBeInstanceOf(LocalProtocolError)
  })

  it("a Pong of 70000 bytes is a LocalProtocolError", () => {
    expect(left(Frame.encodePong(enc, repeatByte(1, 70000)))).toBeInstanceOf(LocalProtocolError)
  })

  it.each([0, 0.5, -1, Number.NaN])(
    "fragmentSize %s is a thrown LocalProtocolError (InvalidOption)",
    (fragmentSize) => {
      expect(() => serverEncoder({ fragmentSize })).toThrow(LocalProtocolError)
      expect(() => serverEncoder({ fragmentSize })).toThrow(expect.objectContaining({ reason: "InvalidOption" }))
    }
  )

  it("control frames are never split by fragmentSize", () => {
    expect(encodedHex(Frame.encodePing(serverEncoder({ fragmentSize: 2 }), utf8("abcde")))).toBe("89056162636465")
  })
})

describe("encoder: close frames (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_simplest_possible_close to ::test_local_only_close_reason; RFC 6455 §5.5, §5.5.1, §7.4.1)", () => {
  const enc = serverEncoder()

  it.each([
    [
      "close() (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_simplest_possible_close)",
      () => Frame.encodeClose(enc),
      "8800"
    ],
    [
      "close(1000) (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_unreasoning_close)",
      () => Frame.encodeClose(enc, 1000),
      "880203e8"
    ],
    ["close(1000, \"bye\")", () => Frame.encodeClose(enc, 1000, "bye"), "880503e8627965"],
    [
      "close(1005) (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_no_status_rcvd_close_reason)",
      () => Frame.encodeClose(enc, 1005),
      "8800"
    ],
    ["close(undefined, \"\")", () => Frame.encodeClose(enc, undefined, ""), "8800"],
    ["close(1014)", () => Frame.encodeClose(enc, 1014), "880203f6"],
    ["close(3000, \"\")", () => Frame.encodeClose(enc, 3000, ""), "88020bb8"],
    ["close(4999, \"r\")", () => Frame.encodeClose(enc, 4999, "r"), "8803138772"]
  ])("%s is encoded byte for byte", (_, step, expected) => {
    expect(encodedHex(step())).toBe(expected)
  })

  it("a UTF-8 reason is encoded after the code (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_reasoned_close)", () => {
    expect(encodedHex(Frame.encodeClose(enc, 1000, SHRUG))).toBe("880f03e8c2af5c5f28e3838429" + "5f2fc2af")
  })

  it("a reason without a code is a LocalProtocolError (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_reasoned_but_uncoded_close)", () => {
    expect(left(Frame.encodeClose(enc, undefined, "termites"))).toBeInstanceOf(LocalProtocolError)
    expect(left(Frame.encodeClose(enc, undefined, "termites")).reason).toBe("InvalidEvent")
  })

  it("a reason with code 1005 (no code) is a LocalProtocolError", () => {
    expect(left(Frame.encodeClose(enc, 1005, "termites"))).toBeInstanceOf(LocalProtocolError)
  })

  it.each([1006, 1015, 0, 999, 1004, 1016, 2999, 5000, 65535, 70000, 1000.5])(
    "sending close code %s is a LocalProtocolError (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_local_only_close_reason; RFC 6455 §5.5.1, §7.4.1; wsproto rewrites 1006/1015 to 1000)",
    (code) => {
      expect(left(Frame.encodeClose(enc, code))).toBeInstanceOf(LocalProtocolError)
      expect(left(Frame.encodeClose(enc, code)).reason).toBe("InvalidEvent")
    }
  )

  it("a reason of 130 bytes is cut to a valid UTF-8 prefix that fits in 125 bytes (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_overly_reasoned_close)", () => {
    const bytes = encodedBytes(Frame.encodeClose(enc, 1000, SHRUG.repeat(10)))
    expect(bytes[0]).toBe(0x88)
    expect(bytes.length).toBe(126)
    const reason = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(4))
    expect(SHRUG.repeat(10).startsWith(reason)).toBe(true)
  })

  it("a reason of 70 × é is cut to 61 × é at a character boundary (RFC 6455 §5.5, §5.5.1)", () => {
    const bytes = encodedBytes(Frame.encodeClose(enc, 1000, "é".repeat(70)))
    expect(bytes.length).toBe(126)
    expect(toHex(bytes.subarray(0, 4))).toBe("887c03e8")
    expect(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(4))).toBe("é".repeat(61))
  })

  it("a reason of 123 ASCII bytes fits exactly and 124 bytes are cut to 123 (RFC 6455 §5.5, §5.5.1)", () => {
    const exact = encodedBytes(Frame.encodeClose(enc, 1000, "a".repeat(123)))
    const over = encodedBytes(Frame.encodeClose(enc, 1000, "a".repeat(124)))
    expect(exact.length).toBe(127)
    expect(toHex(over)).toBe(toHex(exact))
  })

  it("a reason of four-byte characters is cut before the character that would cross 123 bytes", () => {
    const bytes = encodedBytes(Frame.encodeClose(enc, 1000, "😃".repeat(31)))
    expect(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(4))).toBe("😃".repeat(30))
  })

  it("a truncated reason decodes back to the same text", () => {
    const bytes = encodedBytes(Frame.encodeClose(serverEncoder(), 1000, "é".repeat(70)))
    expect(plainAll(client(bytes).frames)).toEqual([close(1000, "é".repeat(61))])
  })

  it("a client close is masked (RFC 6455 §5.5.1: 88 80 + key for an empty close)", () => {
    expect(encodedHex(Frame.encodeClose(clientEncoder()))).toBe("888037fa213d")
  })
})

describe("encoder: client masking (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_client_side_masking_short_frame to ::test_client_side_masking_eight_byte_frame; wsproto tests/test_frame_protocol.py::test_xor_mask_simple)", () => {
  const key = hex("12 34 56 78")

  it("a 125-byte client payload: 82 fd, the key, the masked payload (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_client_side_masking_short_frame)", () => {
    const payload = Uint8Array.from({ length: 125 }, (_, i) => i)
    const bytes = encodedBytes(Frame.encodeMessage(clientEncoder(key), payload))
    expect(toHex(bytes)).toBe("82fd" + toHex(key) + toHex(applyMask(payload, key)))
  })

  it("a 126-byte client payload: 82 fe 00 7e, the key at 4-7, the masked payload from 8 (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_client_side_masking_two_byte_frame)", () => {
    const payload = Uint8Array.from({ length: 126 }, (_, i) => 255 - i)
    const bytes = encodedBytes(Frame.encodeMessage(clientEncoder(key), payload))
    expect(toHex(bytes)).toBe("82fe007e" + toHex(key) + toHex(applyMask(payload, key)))
  })

  it("a 65536-byte client payload: 82 ff + 8-byte length, the key at 10-13, the masked payload from 14 (wsproto tests/test_frame_protocol.py::TestFrameProtocolSend::test_client_side_masking_eight_byte_frame)", () => {
    const payload = Uint8Array.from({ length: 65536 }, (_, i) => (i * 31) & 0xff)
    const bytes = encodedBytes(Frame.encodeMessage(clientEncoder(key), payload))
    expect(toHex(bytes)).toBe("82ff0000000000010000" + toHex(key) + toHex(applyMask(payload, key)))
  })

  it("masking with key 1234 gives the reference vector (wsproto tests/test_frame_protocol.py::test_xor_mask_simple)", () => {
    const bytes = encodedBytes(
      Frame.encodeMessage(clientEncoder(utf8("1234")), utf8("some very long data for masking by websocket"))
    )
    expect(toHex(bytes.subarray(6))).toBe(
      "425d5e511144564648125f5b5f55135050465214575d41145c53405f585c5414534b13435450405b52595640"
    )
  })

  it("masking an empty payload gives an empty payload (wsproto tests/test_frame_protocol.py::test_xor_mask_simple)", () => {
    expect(encodedHex(Frame.encodeMessage(clientEncoder(utf8("1234")), new Uint8Array(0)))).toBe("828031323334")
  })

  it("masking does not modify the caller's payload", () => {
    const payload = repeatByte(0x42, 5000)
    encodedBytes(Frame.encodeMessage(clientEncoder(key), payload))
    expect(payload.every((byte) => byte === 0x42)).toBe(true)
  })

  it("every client frame takes a fresh key from the key source, which may reuse its array", () => {
    const shared = new Uint8Array(4)
    let calls = 0
    const source: Frame.MaskKeySource = () => {
      calls++
      shared.fill(calls)
      return shared
    }
    const enc = Frame.encoder({ role: "client", maskKey: source, fragmentSize: 2 })
    const bytes = encodedBytes(Frame.encodeMessage(enc, utf8("abcd")))
    expect(calls).toBe(2)
    expect(toHex(bytes)).toBe(
      "0282" + "01010101" + toHex(applyMask(utf8("ab"), hex("01010101"))) +
        "8082" + "02020202" + toHex(applyMask(utf8("cd"), hex("02020202")))
    )
  })

  it("the default key source gives 4 bytes and frames a server decodes", () => {
    expect(Frame.randomMaskKey().length).toBe(4)
    const enc = Frame.encoder({ role: "client" })
    const fed = server(
      encodedBytes(Frame.encodeMessage(enc, "hello")),
      encodedBytes(Frame.encodeMessage(enc, repeatByte(1, 300)))
    )
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("hello"), binary(repeatByte(1, 300))])
  })
})

describe("encoder: fragmentSize", () => {
  it("splits a message: the first frame has the opcode, the rest CONTINUATION, FIN only on the last", () => {
    const enc = serverEncoder({ fragmentSize: 2 })
    expect(encodedHex(Frame.encodeMessage(enc, "Hello"))).toBe("0102" + "4865" + "0002" + "6c6c" + "8001" + "6f")
  })

  it("splits a binary message the same way", () => {
    const enc = serverEncoder({ fragmentSize: 3 })
    expect(encodedHex(Frame.encodeMessage(enc, hex("01 02 03 04 05 06")))).toBe("0203010203" + "8003040506")
  })

  it("a message of exactly fragmentSize bytes is one frame", () => {
    expect(encodedHex(Frame.encodeMessage(serverEncoder({ fragmentSize: 5 }), "Hello"))).toBe("810548656c6c6f")
  })

  it("an empty message is one empty frame", () => {
    expect(encodedHex(Frame.encodeMessage(serverEncoder({ fragmentSize: 5 }), ""))).toBe("8100")
  })

  it("an unfinished message piece split by fragmentSize has no FIN on any frame, and continues as CONTINUATION", () => {
    const enc = serverEncoder({ fragmentSize: 2 })
    const first = right(Frame.encodeMessage(enc, "abc", false))
    expect(hexOf(first)).toBe("01026162" + "000163")
    expect(encodedHex(Frame.encodeMessage(first.state, "def"))).toBe("00026465" + "800166")
  })

  it("fragmentSize may cut a character in two; the decoder puts it back together", () => {
    const enc = serverEncoder({ fragmentSize: 1 })
    const bytes = encodedBytes(Frame.encodeMessage(enc, "€"))
    expect(toHex(bytes)).toBe("0101e2" + "000182" + "8001ac")
    expect(plainAll(decodeAll({ role: "client", assembleMessages: true }, bytes).frames)).toEqual([text("€")])
  })

  it("client frames split by fragmentSize are each masked with the injected key", () => {
    const enc = clientEncoder(RFC_KEY, { fragmentSize: 3 })
    expect(encodedHex(Frame.encodeMessage(enc, "Hello"))).toBe(
      "0183" + "37fa213d" + toHex(applyMask(utf8("Hel"), RFC_KEY)) + "8082" + "37fa213d" +
        toHex(applyMask(utf8("lo"), RFC_KEY))
    )
  })
})

// A test extension like wsproto's FakeExtension: claims RSV3, fails PONG headers with 1010, fails
// the payload "party time" with 1008, arms a completion failure (1006) on "ragequit", upper-cases
// the payloads of RSV3 frames, appends "™" on completion of RSV3 frames with FIN, and on send sets
// RSV3 on TEXT frames and appends "®" to the final frame of such a message.
interface FakeState {
  readonly inboundRsv3: boolean
  readonly failComplete: boolean
  readonly outboundRsv3: boolean
}

const extensionError = (closeCode: number) =>
  new RemoteProtocolError({ reason: "ExtensionFailure", message: "error in extension", closeCode })

const fakeExtension = (calls: Array<string>): Extension<FakeState> => ({
  name: "fake",
  init: () => ({ inboundRsv3: false, failComplete: false, outboundRsv3: false }),
  inboundHeader: (state, header: InboundHeader) => {
    calls.push(`header rsv=${header.rsv} opcode=${header.opcode} length=${header.payloadLength}`)
    if (header.opcode === Frame.Opcode.PONG) {
      return { error: extensionError(1010) }
    }
    return { state: { ...state, inboundRsv3: (header.rsv & Frame.RSV3) !== 0 }, value: Frame.RSV3 }
  },
  inboundPayload: (state, data) => {
    calls.push("payload")
    const asText = Buffer.from(data).toString("latin1")
    if (asText === "party time") return { error: extensionError(1008) }
    const next = asText === "ragequit" ? { ...state, failComplete: true } : state
    const out = next.inboundRsv3 ? utf8(new TextDecoder().decode(data).toUpperCase()) : data
    return { state: next, value: out }
  },
  inboundComplete: (state, fin) => {
    calls.push(`complete fin=${fin}`)
    if (state.failComplete) return { error: extensionError(1006) }
    return { state, value: fin && state.inboundRsv3 ? utf8("™") : undefined }
  },
  outbound: (state, frame: OutboundFrame) => {
    let next = state
    let rsv = frame.rsv
    let payload = frame.payload
    if (frame.opcode === Frame.Opcode.TEXT) {
      rsv |= Frame.RSV3
      next = { ...next, outboundRsv3: true }
    }
    if (frame.fin && next.outboundRsv3) {
      payload = concatBytes(payload, utf8("®"))
      next = { ...next, outboundRsv3: false }
    }
    return { state: next, value: { ...frame, rsv, payload } }
  }
})

describe("extension hooks (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions; RFC 6455 §9.1)", () => {
  const withFake = (...chunks: ReadonlyArray<Uint8Array>) => {
    const calls: Array<string> = []
    const fed = decodeAll({ role: "client", extensions: [fakeExtension(calls)] }, ...chunks)
    return { fed, calls }
  }

  it("a frame with the RSV3 bit the extension claims is surfaced, and the header hook saw RSV3 (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_rsv_bit)", () => {
    const { calls, fed } = withFake(hex("91 00"))
    expectOk(fed)
    expect(fed.frames).toHaveLength(1)
    expect(calls[0]).toBe(`header rsv=${Frame.RSV3} opcode=1 length=0`)
  })

  it("an RSV bit the extension does not claim fails with 1002 (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_wrong_rsv_bit)", () => {
    expectFailure(withFake(hex("a1 00")).fed, 1002)
  })

  it("a header hook failure fails with the hook's close code, 1010 (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_header_error_handling)", () => {
    expectFailure(withFake(hex("9a 00")).fed, 1010)
  })

  it("an extension's error built without a hint comes out with the close to answer with, its own code kept", () => {
    const header = withFake(hex("9a 00")).fed.error
    expect(header?.reason).toBe("ExtensionFailure")
    expect(header?.eventHint).toMatchObject({ _tag: "CloseConnection", code: 1010, reason: "error in extension" })
    const payload = withFake(concatBytes(hex("91 0a"), utf8("party time"))).fed.error
    expect(payload?.eventHint).toMatchObject({ _tag: "CloseConnection", code: 1008, reason: "error in extension" })
  })

  it("header hooks run before the masking check: an unmasked PONG to a server fails with the hook's 1010 (as wsproto src/wsproto/frame_protocol.py, FrameDecoder.parse_header)", () => {
    const fed = decodeAll({ role: "server", extensions: [fakeExtension([])] }, hex("9a 00"))
    expectFailure(fed, 1010)
  })

  it("the payload hook transforms an RSV3 frame's payload (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_payload_processing)", () => {
    const { calls, fed } = withFake(concatBytes(hex("11 09"), FNORD))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("FÑÖR∂", true, false)])
    expect(calls).toContain("payload")
    expect(calls.some((call) => call.startsWith("header"))).toBe(true)
  })

  it("the payload hook runs on frames without RSV3 too and leaves them unchanged (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_no_payload_processing_when_not_wanted)", () => {
    const { calls, fed } = withFake(concatBytes(hex("01 09"), FNORD))
    expect(plainAll(fed.frames)).toEqual([text("fñör∂", true, false)])
    expect(calls).toContain("payload")
  })

  it("a payload hook failure fails with the hook's close code, 1008 (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_payload_error_handling)", () => {
    expectFailure(withFake(concatBytes(hex("91 0a"), utf8("party time"))).fed, 1008)
  })

  it("bytes from the completion hook are appended to the frame's last piece (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_frame_completion)", () => {
    const { calls, fed } = withFake(concatBytes(hex("91 09"), FNORD))
    expect(plainAll(fed.frames)).toEqual([text("FÑÖR∂™")])
    expect(calls).toContain("complete fin=true")
  })

  it("the completion hook runs on frames without RSV3 and may add nothing (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_no_frame_completion_when_not_wanted)", () => {
    const { calls, fed } = withFake(concatBytes(hex("81 09"), FNORD))
    expect(plainAll(fed.frames)).toEqual([text("fñör∂")])
    expect(calls).toContain("complete fin=true")
  })

  it("a completion hook failure fails with the hook's code even when it is local-only, 1006 (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_completion_error_handling)", () => {
    expectFailure(withFake(concatBytes(hex("91 08"), utf8("ragequit"))).fed, 1006)
  })

  it("the hooks run for every piece, and completion only at the end of the frame", () => {
    const { calls, fed } = withFake(concatBytes(hex("91 06"), utf8("abc")), utf8("def"))
    expect(plainAll(fed.frames)).toEqual([text("ABC", false, false), text("DEF™")])
    expect(calls.slice(1)).toEqual(["payload", "payload", "complete fin=true"])
  })

  it("the hooks run for control frames too", () => {
    const { fed } = withFake(concatBytes(hex("99 02"), utf8("ab")))
    expect(plainAll(fed.frames)).toEqual([ping(utf8("AB™"))])
  })

  it("a server sending a text message sets RSV3 and appends ® (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_outbound_handling_single_frame)", () => {
    const enc = Frame.encoder({ role: "server", extensions: [fakeExtension([])] })
    expect(encodedHex(Frame.encodeMessage(enc, EMOJI))).toBe("9112" + toHex(utf8(EMOJI + "®")))
  })

  it("a text message in two pieces: RSV3 on the first frame only, ® on the final one (wsproto tests/test_frame_protocol.py::TestFrameDecoderExtensions::test_outbound_handling_multiple_frames)", () => {
    const enc = Frame.encoder({ role: "server", extensions: [fakeExtension([])] })
    const first = right(Frame.encodeMessage(enc, EMOJI, false))
    expect(hexOf(first)).toBe("1110" + toHex(utf8(EMOJI)))
    expect(encodedHex(Frame.encodeMessage(first.state, SHRUG))).toBe("800f" + toHex(utf8(SHRUG + "®")))
  })

  it("outbound hook state carries from frame to frame of a message split by fragmentSize", () => {
    const enc = Frame.encoder({ role: "server", fragmentSize: 4, extensions: [fakeExtension([])] })
    expect(encodedHex(Frame.encodeMessage(enc, "abcdefgh"))).toBe(
      "1104" + toHex(utf8("abcd")) + "8006" + toHex(utf8("efgh®"))
    )
  })

  it("outbound hooks run on control frames too, and the 125-byte limit applies after them", () => {
    const appendX: Extension<undefined> = {
      name: "x",
      init: () => undefined,
      outbound: (state, frame) => ({ state, value: { ...frame, payload: concatBytes(frame.payload, utf8("x")) } })
    }
    const enc = Frame.encoder({ role: "server", extensions: [appendX] })
    expect(encodedHex(Frame.encodePing(enc, utf8("a")))).toBe("89026178")
    expect(left(Frame.encodePing(enc, repeatByte(1, 125)))).toBeInstanceOf(LocalProtocolError)
  })

  it("an outbound hook failure is returned as a LocalProtocolError", () => {
    const refuse: Extension<undefined> = {
      name: "refuse",
      init: () => undefined,
      outbound: () => ({ error: new LocalProtocolError({ reason: "ExtensionFailure", message: "no" }) })
    }
    const enc = Frame.encoder({ role: "server", extensions: [refuse] })
    expect(left(Frame.encodeMessage(enc, "a")).message).toBe("no")
    expect(left(Frame.encodeMessage(enc, "a")).reason).toBe("ExtensionFailure")
  })

  it("inbound hooks run in list order and outbound hooks in reverse order (RFC 6455 §9.1)", () => {
    const calls: Array<string> = []
    const appending = (tag: string, claims: number): Extension<undefined> => ({
      name: tag,
      init: () => undefined,
      inboundHeader: (state) => {
        calls.push(`${tag} header`)
        return { state, value: claims }
      },
      inboundPayload: (state, data) => {
        calls.push(`${tag} payload`)
        return { state, value: concatBytes(data, utf8(tag)) }
      },
      inboundComplete: (state) => {
        calls.push(`${tag} complete`)
        return { state, value: utf8(tag.toLowerCase()) }
      },
      outbound: (state, frame) => {
        calls.push(`${tag} outbound`)
        return { state, value: { ...frame, payload: concatBytes(frame.payload, utf8(tag)) } }
      }
    })
    const extensions = [appending("A", Frame.RSV2), appending("B", Frame.RSV3)]
    const enc = Frame.encoder({ role: "server", extensions })
    expect(encodedHex(Frame.encodeMessage(enc, "x"))).toBe("8103" + toHex(utf8("xBA")))
    expect(calls).toEqual(["B outbound", "A outbound"])
    calls.length = 0
    const fed = decodeAll({ role: "client", extensions }, hex("b1 01 78"))
    expectOk(fed)
    expect(plainAll(fed.frames)).toEqual([text("xABab")])
    expect(calls).toEqual(["A header", "B header", "A payload", "B payload", "A complete", "B complete"])
  })

  it("RSV bits claimed by different extensions add up; a bit none claims still fails with 1002", () => {
    const claiming = (bit: number): Extension<undefined> => ({
      name: `claims-${bit}`,
      init: () => undefined,
      inboundHeader: (state) => ({ state, value: bit })
    })
    const extensions = [claiming(Frame.RSV2), claiming(Frame.RSV3)]
    expectOk(decodeAll({ role: "client", extensions }, hex("b1 00")))
    expectFailure(decodeAll({ role: "client", extensions }, hex("f1 00")), 1002)
  })

  it("maxMessageSize counts the bytes extensions produce", () => {
    const doubling: Extension<undefined> = {
      name: "double",
      init: () => undefined,
      inboundHeader: (state) => ({ state, value: Frame.RSV1 }),
      inboundPayload: (state, data) => ({ state, value: concatBytes(data, data) })
    }
    const fed = decodeAll(
      { role: "client", extensions: [doubling], maxMessageSize: 10 },
      hex("c2 06 01 02 03 04 05 06")
    )
    expectFailure(fed, 1009)
  })
})

describe("complexity", () => {
  const timeByteByByte = (size: number): number => {
    const wire = rawFrame({ fin: true, opcode: 2, payload: repeatByte(0x61, size) })
    const chunks = chunksOf(wire, 1)
    const start = performance.now()
    let state = Frame.decoder({ role: "client" })
    let received = 0
    for (const chunk of chunks) {
      const result = Frame.decode(state, chunk)
      state = result.state
      for (const frame of result.frames) if (frame._tag === "Binary") received += frame.data.length
    }
    const elapsed = performance.now() - start
    expect(received).toBe(size)
    return elapsed
  }

  it("decoding a frame fed one byte at a time takes time linear in its size (1 MiB vs 64 KiB, ratio < 40)", () => {
    timeByteByByte(64 * 1024) // warm up
    const small = Math.min(timeByteByByte(64 * 1024), timeByteByByte(64 * 1024))
    const large = timeByteByByte(1024 * 1024)
    expect(large / small).toBeLessThan(40)
  })

  it("assembling a masked text message fed one byte at a time takes time linear in its size", () => {
    const run = (size: number): number => {
      const wire = rawFrame({ fin: true, opcode: 1, payload: utf8("é".repeat(size / 2)), mask: MASK })
      const chunks = chunksOf(wire, 1)
      const start = performance.now()
      let state = Frame.decoder({ role: "server", assembleMessages: true })
      const frames: Array<Frame.Frame> = []
      for (const chunk of chunks) {
        const result = Frame.decode(state, chunk)
        state = result.state
        frames.push(...result.frames)
      }
      const elapsed = performance.now() - start
      expect(plainAll(frames)).toEqual([text("é".repeat(size / 2))])
      return elapsed
    }
    run(64 * 1024)
    const small = Math.min(run(64 * 1024), run(64 * 1024))
    const large = run(1024 * 1024)
    expect(large / small).toBeLessThan(40)
  })
})

describe("encoder results", () => {
  it("encoder steps carry the bytes, or the error and no bytes", () => {
    expect(Frame.encodeMessage(serverEncoder(), "a").error).toBe(undefined)
    const failed = Frame.encodePing(serverEncoder(), repeatByte(0, 126))
    expect(failed.error).toBeInstanceOf(LocalProtocolError)
    expect(failed.bytes).toEqual([])
  })
})
