/**
 * The handshake's own SHA-1, base64 and IDNA against Node's implementations and the RFC examples.
 */
import * as fc from "fast-check"
import { createHash, randomBytes } from "node:crypto"
import { domainToASCII, domainToUnicode } from "node:url"
import { describe, expect, it } from "vitest"
import * as Base64 from "../../src/internal/base64.js"
import { hostToAscii, hostToUnicode } from "../../src/internal/punycode.js"
import { sha1 } from "../../src/internal/sha1.js"

describe("SHA-1 (FIPS 180-4)", () => {
  it("gives the FIPS examples", () => {
    expect(Buffer.from(sha1(new TextEncoder().encode("abc"))).toString("hex")).toBe(
      "a9993e364706816aba3e25717850c26c9cd0d89d"
    )
    expect(Buffer.from(sha1(new Uint8Array(0))).toString("hex")).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709")
  })

  it("agrees with node:crypto for any input, across block boundaries", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        (bytes) => Buffer.from(sha1(bytes)).toString("hex") === createHash("sha1").update(bytes).digest("hex")
      ),
      { numRuns: 300 }
    )
    for (const length of [55, 56, 63, 64, 65, 119, 120, 128]) {
      const bytes = randomBytes(length)
      expect(Buffer.from(sha1(bytes)).toString("hex")).toBe(createHash("sha1").update(bytes).digest("hex"))
    }
  })
})

describe("base64 (RFC 4648)", () => {
  it("round-trips any bytes and agrees with Buffer", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        (bytes) =>
          Base64.encode(bytes) === Buffer.from(bytes).toString("base64") &&
          Buffer.from(Base64.decode(Base64.encode(bytes))).equals(Buffer.from(bytes))
      ),
      { numRuns: 200 }
    )
  })
})

describe("IDNA hosts (Punycode, RFC 3492)", () => {
  it("encodes only non-ASCII labels and leaves ASCII labels, case and port as they are", () => {
    expect(hostToAscii("bücher.example")).toBe("xn--bcher-kva.example")
    expect(hostToAscii("芝士汉堡")).toBe("xn--7ks3rz39bh7u")
    expect(hostToAscii("Example.COM:8080")).toBe("Example.COM:8080")
    expect(hostToAscii("münchen.de:443")).toBe("xn--mnchen-3ya.de:443")
  })

  it("agrees with node:url on lowercase internationalised names", () => {
    for (const host of ["bücher.example", "münchen.de", "日本語.jp", "😀.example", "россия.рф"]) {
      expect(hostToAscii(host)).toBe(domainToASCII(host))
      expect(domainToUnicode(hostToAscii(host))).toBe(host)
    }
  })

  it("decodes what it encodes, and encodes to ASCII only", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.stringOf(fc.constantFrom("a", "z", "0", "-", "é", "ü", "ж", "語", "😀"), { minLength: 1, maxLength: 8 }),
          {
            minLength: 1,
            maxLength: 3
          }
        ),
        (labels) => {
          const host = labels.filter((l) => !l.startsWith("-") && !l.endsWith("-")).join(".")
          if (host === "" || host.split(".").some((l) => l === "")) return true
          const ascii = hostToAscii(host)
          return hostToUnicode(ascii) === host && /^[\x00-\x7f]*$/.test(ascii)
        }
      ),
      { numRuns: 200 }
    )
  })

  it("refuses labels that are not Punycode", () => {
    expect(hostToUnicode("xn--a")).toBeUndefined()
    expect(hostToUnicode("xn--.example")).toBeUndefined()
    expect(hostToUnicode("xn--zzzzzzzzzzzzzzzzzzzzzzzz")).toBeUndefined()
  })
})
