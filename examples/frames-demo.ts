/**
 * `npm run demo:frames`: the RFC 6455 §5.7 examples, encoded by effect-wsproto's frame codec and decoded
 * back, printed byte for byte.
 */
import * as Frame from "../src/Frame.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex").replace(/(..)(?!$)/g, "$1 ")
const join = (chunks: ReadonlyArray<Uint8Array>) => Buffer.concat(chunks)

/** RFC 6455 §5.7 uses the masking key 37 fa 21 3d. */
const rfcKey = () => new Uint8Array([0x37, 0xfa, 0x21, 0x3d])

interface Example {
  readonly title: string
  readonly role: Frame.Role
  readonly encode: (encoder: Frame.EncoderState) => ReadonlyArray<Uint8Array>
}

/** Runs one encoding step after another, threading the state. */
const steps = (
  encoder: Frame.EncoderState,
  ...encodes: ReadonlyArray<(state: Frame.EncoderState) => Frame.Encoded>
) => {
  const out: Array<Uint8Array> = []
  let state = encoder
  for (const encode of encodes) {
    const { bytes, error, state: next } = encode(state)
    if (error !== undefined) throw error
    out.push(join(bytes))
    state = next
  }
  return out
}

const hello = new TextEncoder().encode("Hello")

const examples: ReadonlyArray<Example> = [
  {
    title: "A single-frame unmasked text message",
    role: "server",
    encode: (e) => steps(e, (s) => Frame.encodeMessage(s, "Hello"))
  },
  {
    title: "A single-frame masked text message",
    role: "client",
    encode: (e) => steps(e, (s) => Frame.encodeMessage(s, "Hello"))
  },
  {
    title: "A fragmented unmasked text message",
    role: "server",
    encode: (e) => steps(e, (s) => Frame.encodeMessage(s, "Hel", false), (s) => Frame.encodeMessage(s, "lo"))
  },
  {
    title: "Unmasked Ping request",
    role: "server",
    encode: (e) => steps(e, (s) => Frame.encodePing(s, hello))
  },
  {
    title: "Masked Ping response (a Pong)",
    role: "client",
    encode: (e) => steps(e, (s) => Frame.encodePong(s, hello))
  },
  {
    title: "256 bytes binary message in a single unmasked frame",
    role: "server",
    encode: (e) => steps(e, (s) => Frame.encodeMessage(s, new Uint8Array(256)))
  },
  {
    title: "64KiB binary message in a single unmasked frame",
    role: "server",
    encode: (e) => steps(e, (s) => Frame.encodeMessage(s, new Uint8Array(65536)))
  }
]

const describeFrame = (frame: Frame.Frame): string => {
  switch (frame._tag) {
    case "Text":
      return `Text ${
        JSON.stringify(frame.data)
      } frameFinished=${frame.frameFinished} messageFinished=${frame.messageFinished}`
    case "Binary":
      return `Binary (${frame.data.length} bytes) frameFinished=${frame.frameFinished} messageFinished=${frame.messageFinished}`
    case "Close":
      return `Close ${frame.code} ${JSON.stringify(frame.reason)}`
    case "Ping":
    case "Pong":
      return `${frame._tag} ${JSON.stringify(new TextDecoder().decode(frame.payload))}`
  }
}

console.log("RFC 6455 §5.7 examples, encoded and decoded by effect-wsproto's frame codec\n")
for (const example of examples) {
  const frames = example.encode(Frame.encoder({ role: example.role, maskKey: rfcKey }))
  console.log(`${example.title} (${example.role} → ${example.role === "client" ? "server" : "client"})`)
  let decoder = Frame.decoder({ role: example.role === "client" ? "server" : "client" })
  for (const bytes of frames) {
    const shown = bytes.length > 16 ? `${hex(bytes.subarray(0, 12))} … (${bytes.length} bytes)` : hex(bytes)
    const result = Frame.decode(decoder, bytes)
    decoder = result.state
    if (result.error) throw result.error
    console.log(`  wire:    ${shown}`)
    for (const frame of result.frames) console.log(`  decoded: ${describeFrame(frame)}`)
  }
  console.log()
}
