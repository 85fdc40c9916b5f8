/**
 * Host names with non-ASCII labels (IDNA, RFC 5890/5891): each non-ASCII label becomes
 * `xn--` + its Punycode (RFC 3492), ASCII labels stay byte for byte as they are (case and port
 * included), as wsproto does. Decoding turns `xn--` labels back.
 */

const BASE = 36
const T_MIN = 1
const T_MAX = 26
const SKEW = 38
const DAMP = 700
const INITIAL_BIAS = 72
const INITIAL_N = 128

const adapt = (delta: number, points: number, first: boolean): number => {
  let d = first ? Math.floor(delta / DAMP) : delta >> 1
  d += Math.floor(d / points)
  let k = 0
  while (d > ((BASE - T_MIN) * T_MAX) >> 1) {
    d = Math.floor(d / (BASE - T_MIN))
    k += BASE
  }
  return k + Math.floor(((BASE - T_MIN + 1) * d) / (d + SKEW))
}

const digit = (d: number): string => String.fromCharCode(d < 26 ? d + 97 : d + 22)

const digitValue = (c: number): number =>
  c >= 48 && c <= 57 ? c - 22 : c >= 65 && c <= 90 ? c - 65 : c >= 97 && c <= 122 ? c - 97 : BASE

/** RFC 3492 §6.3 */
const encodeLabel = (label: string): string => {
  const points = Array.from(label, (c) => c.codePointAt(0)!)
  let output = points.filter((p) => p < 0x80).map((p) => String.fromCharCode(p)).join("")
  const basic = output.length
  let handled = basic
  if (basic > 0) output += "-"
  let n = INITIAL_N
  let delta = 0
  let bias = INITIAL_BIAS
  while (handled < points.length) {
    const m = Math.min(...points.filter((p) => p >= n))
    delta += (m - n) * (handled + 1)
    n = m
    for (const p of points) {
      if (p < n) delta++
      if (p === n) {
        let q = delta
        for (let k = BASE;; k += BASE) {
          const t = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias
          if (q < t) break
          output += digit(t + ((q - t) % (BASE - t)))
          q = Math.floor((q - t) / (BASE - t))
        }
        output += digit(q)
        bias = adapt(delta, handled + 1, handled === basic)
        delta = 0
        handled++
      }
    }
    delta++
    n++
  }
  return output
}

/** RFC 3492 §6.2; `undefined` when the input is not valid Punycode. */
const decodeLabel = (input: string): string | undefined => {
  const dash = input.lastIndexOf("-")
  const output = Array.from(dash < 0 ? "" : input.slice(0, dash), (c) => c.codePointAt(0)!)
  if (output.some((p) => p >= 0x80)) return undefined
  let n = INITIAL_N
  let bias = INITIAL_BIAS
  let i = 0
  for (let pos = dash < 0 ? 0 : dash + 1; pos < input.length;) {
    const oldi = i
    let w = 1
    for (let k = BASE;; k += BASE) {
      if (pos >= input.length) return undefined
      const d = digitValue(input.charCodeAt(pos++))
      if (d >= BASE) return undefined
      i += d * w
      const t = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias
      if (d < t) break
      w *= BASE - t
      if (i > 0x10ffff * 64) return undefined
    }
    bias = adapt(i - oldi, output.length + 1, oldi === 0)
    n += Math.floor(i / (output.length + 1))
    i %= output.length + 1
    if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return undefined
    output.splice(i++, 0, n)
  }
  return String.fromCodePoint(...output)
}

/** Splits `name:port` (an IPv6 literal in brackets stays whole). */
const splitPort = (host: string): readonly [string, string] => {
  const match = /^(.*?)(:\d*)?$/.exec(host)
  return host.startsWith("[") || match === null ? [host, ""] : [match[1]!, match[2] ?? ""]
}

/**
 * The ASCII form of a host (with an optional port): non-ASCII labels become `xn--` labels.
 *
 * @internal
 */
export const hostToAscii = (host: string): string => {
  const [name, port] = splitPort(host)
  return name.split(".").map((
    label
  ) => (/^[\x00-\x7f]*$/.test(label) ? label : `xn--${encodeLabel(label.toLowerCase())}`))
    .join(".") + port
}

/**
 * The Unicode form of a received host: `xn--` labels decoded; `undefined` if one is not Punycode.
 *
 * @internal
 */
export const hostToUnicode = (host: string): string | undefined => {
  const [name, port] = splitPort(host)
  const labels: Array<string> = []
  for (const label of name.split(".")) {
    if (!label.startsWith("xn--")) {
      labels.push(label)
      continue
    }
    // A valid label decodes to text with no control character and encodes back to itself.
    const decoded = decodeLabel(label.slice(4))
    if (
      decoded === undefined || decoded === "" || /[\x00-\x20\x7f-\x9f]/.test(decoded) ||
      encodeLabel(decoded) !== label.slice(4)
    ) return undefined
    labels.push(decoded)
  }
  return labels.join(".") + port
}
