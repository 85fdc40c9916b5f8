/**
 * Extension negotiation (RFC 6455 §9.1): reading and writing the elements of
 * `Sec-WebSocket-Extensions`, and the server's and the client's sides of the negotiation
 * (re-exported by `Extensions`).
 */
import type { ClientNegotiation, Element, Extension, Parameter, ServerNegotiation } from "../Extensions.js"
import { isToken, splitOutsideQuotes } from "./http11.js"

const unquote = (value: string): string | undefined => {
  if (!value.startsWith("\"")) return value
  if (value.length < 2 || !value.endsWith("\"")) return undefined
  return value.slice(1, -1).replace(/\\(.)/g, "$1")
}

/** @internal */
export const parseElement = (element: string): Element | undefined => {
  const [name, ...rest] = splitOutsideQuotes(element, ";").map((part) => part.trim())
  if (name === undefined || !isToken(name)) return undefined
  const parameters: Array<Parameter> = []
  for (const part of rest) {
    const equals = part.indexOf("=")
    const key = (equals < 0 ? part : part.slice(0, equals)).trim()
    if (!isToken(key)) return undefined
    if (equals < 0) {
      parameters.push({ name: key, value: undefined })
      continue
    }
    const value = unquote(part.slice(equals + 1).trim())
    if (value === undefined || !isToken(value)) return undefined
    parameters.push({ name: key, value })
  }
  return { name, parameters }
}

/** @internal */
export const formatElement = (name: string, parameters: ReadonlyArray<Parameter>): string =>
  [name, ...parameters.map((p) => (p.value === undefined ? p.name : `${p.name}=${p.value}`))].join("; ")

/**
 * Why an element cannot be written: RFC 6455 §9.1 names and parameters are tokens (values are
 * written unquoted).
 *
 * @internal
 */
export const invalidElement = (element: Element): string | undefined => {
  if (!isToken(element.name)) return `Invalid extension name ${JSON.stringify(element.name)}`
  for (const { name, value } of element.parameters) {
    if (!isToken(name) || (value !== undefined && !isToken(value))) {
      return `Invalid parameter ${
        JSON.stringify(value === undefined ? name : `${name}=${value}`)
      } of extension ${element.name}`
    }
  }
  return undefined
}

/** @internal */
export const serverNegotiate = (
  offers: ReadonlyArray<string>,
  supported: ReadonlyArray<Extension>
): ServerNegotiation => {
  const agreed: Array<Extension> = []
  const answer: Array<Element> = []
  const done = new Set<Extension>()
  for (const offer of offers) {
    const element = parseElement(offer)
    if (element === undefined) continue
    const extension = supported.find((e) => e.name === element.name && !done.has(e))
    if (extension?.accept === undefined) continue
    const accepted = extension.accept(element.parameters)
    if (accepted === undefined) continue
    done.add(extension)
    agreed.push(accepted.extension)
    answer.push({ name: element.name, parameters: accepted.parameters })
  }
  return {
    extensions: agreed,
    answer,
    header: answer.length === 0 ? undefined : answer.map((e) => formatElement(e.name, e.parameters)).join(", ")
  }
}

/** @internal */
export const clientNegotiate = (
  answer: ReadonlyArray<string>,
  offered: ReadonlyArray<Extension>
): ClientNegotiation => {
  const agreed: Array<Extension> = []
  const used = new Set<string>()
  for (const text of answer) {
    const element = parseElement(text)
    if (element === undefined) return { error: `malformed extension ${JSON.stringify(text)}` }
    const extension = offered.find((e) => e.name === element.name)
    if (extension === undefined) return { error: `unrecognized extension ${element.name}` }
    if (used.has(element.name)) return { error: `extension ${element.name} accepted twice` }
    used.add(element.name)
    if (extension.finalize === undefined) {
      agreed.push(extension)
      continue
    }
    const finalized = extension.finalize(element.parameters)
    if (finalized.error !== undefined) return { error: `extension ${element.name}: ${finalized.error}` }
    agreed.push(finalized.extension)
  }
  return { extensions: agreed }
}
