import * as fc from "fast-check"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import wabtInit from "wabt"
import {
  kernelBytes,
  maskInPlace,
  maskInPlaceWithoutKernel,
  maskInto,
  readUint32,
  simdAvailable
} from "../../src/internal/mask.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

/** RFC 6455 §5.3 read literally: byte i XOR key[(phase + i) % 4]. */
const reference = (data: Uint8Array, key: Uint8Array, phase: number) =>
  Uint8Array.from(data, (byte, i) => byte ^ key[(phase + i) % 4]!)

describe("masking (RFC 6455 §5.3)", () => {
  it("the embedded SIMD kernel is mask.wat compiled", async () => {
    const wabt = await wabtInit()
    const source = readFileSync(new URL("../../src/internal/mask.wat", import.meta.url), "utf8")
    const module = wabt.parseWat("mask.wat", source, { simd: true })
    expect(hex(kernelBytes())).toBe(hex(module.toBinary({}).buffer))
    module.destroy()
  })

  it("the SIMD kernel loads on Node 20", () => {
    expect(simdAvailable).toBe(true)
  })

  it("masks wsproto's reference vector with key 1234", () => {
    const data = new TextEncoder().encode("some very long data for masking by websocket")
    maskInPlace(data, 0, data.length, readUint32(new TextEncoder().encode("1234"), 0), 0)
    expect(hex(data)).toBe(
      "425d5e511144564648125f5b5f55135050465214575d41145c53405f585c5414534b13435450405b52595640"
    )
  })

  it("masking nothing changes nothing", () => {
    const data = new Uint8Array(0)
    maskInPlace(data, 0, 0, 0x31323334, 0)
    expect(data.length).toBe(0)
  })

  it("kernel, word loop and byte-by-byte reference agree for any length, offset, key and phase", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 200_000 }),
        fc.nat(7),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.nat(3),
        (payload, offset, key, phase) => {
          const expected = hex(reference(payload, key, phase))
          const packed = readUint32(key, 0)
          const inPlace = new Uint8Array(payload.length + offset)
          inPlace.set(payload, offset)
          maskInPlace(inPlace, offset, offset + payload.length, packed, phase)
          const words = new Uint8Array(payload.length + offset)
          words.set(payload, offset)
          maskInPlaceWithoutKernel(words, offset, offset + payload.length, packed, phase)
          const target = new Uint8Array(payload.length + 3)
          maskInto(payload, 0, payload.length, packed, phase, target, 3)
          return hex(inPlace.subarray(offset)) === expected && hex(words.subarray(offset)) === expected &&
            hex(target.subarray(3)) === expected
        }
      ),
      { numRuns: 60 }
    )
  })

  it("agrees with the reference across the kernel's 64 KiB block boundaries", () => {
    const key = new Uint8Array([0x9a, 0x01, 0xff, 0x37])
    for (const length of [1023, 1024, 1087, 65_535, 65_536, 65_537, 131_077]) {
      for (const phase of [0, 3]) {
        const payload = Uint8Array.from({ length }, (_, i) => (i * 7 + length) & 0xff)
        const data = new Uint8Array(length + 1)
        data.set(payload, 1)
        maskInPlace(data, 1, length + 1, readUint32(key, 0), phase)
        expect(hex(data.subarray(1))).toBe(hex(reference(payload, key, phase)))
      }
    }
  })
})
