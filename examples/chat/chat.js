// The chat page: a browser WebSocket on /ws of this page's own host, JSON messages both ways
// (see server.ts for the protocol). No build step, no libraries.
"use strict"

const byId = (id) => document.getElementById(id)
const joinForm = byId("join")
const nameInput = byId("name")
const chat = byId("chat")
const sayForm = byId("say")
const textInput = byId("text")
const log = byId("log")
const people = byId("people")
const online = byId("online")
const status = byId("status")

let socket = null
const here = new Set()

const showOnline = (count) => {
  online.textContent = `${count} online`
}

const showPeople = () => {
  people.replaceChildren(
    ...[...here].sort().map((name) => {
      const item = document.createElement("li")
      item.textContent = name
      return item
    })
  )
}

/** Adds a line to the log; textContent only, so nothing anyone sends becomes markup. */
const addLine = (className, ...parts) => {
  const item = document.createElement("li")
  item.className = className
  for (const part of parts) item.append(part)
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4
  log.append(item)
  if (atBottom) log.scrollTop = log.scrollHeight
}

/** Shows who is here and how many are online; with `what`, logs what the message's name did. */
const presence = (message, what) => {
  showPeople()
  showOnline(message.online)
  if (what !== undefined) addLine("event", `${message.name} ${what}`)
}

const bold = (text) => {
  const element = document.createElement("b")
  element.textContent = text
  return element
}

const onMessage = (message) => {
  switch (message.type) {
    case "welcome":
      here.clear()
      for (const name of message.names) here.add(name)
      presence(message)
      break
    case "joined":
      here.add(message.name)
      presence(message, "joined")
      break
    case "left":
      here.delete(message.name)
      presence(message, "left")
      break
    case "said":
      addLine("said", bold(message.name), `: ${message.text}`)
      break
  }
}

const connect = (name) => {
  const url = new URL("/ws", location.href)
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"
  status.textContent = "Connecting…"
  socket = new WebSocket(url)
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "join", name }))
    status.textContent = `Connected as ${name}.`
    joinForm.hidden = true
    chat.hidden = false
    textInput.focus()
  })
  socket.addEventListener("message", (event) => onMessage(JSON.parse(event.data)))
  socket.addEventListener("close", (event) => {
    socket = null
    here.clear()
    showPeople()
    online.textContent = "not connected"
    status.textContent = `Disconnected (${event.code}${event.reason ? `: ${event.reason}` : ""}).`
    chat.hidden = true
    joinForm.hidden = false
  })
}

joinForm.addEventListener("submit", (event) => {
  event.preventDefault()
  const name = nameInput.value.trim()
  if (name !== "" && socket === null) connect(name)
})

sayForm.addEventListener("submit", (event) => {
  event.preventDefault()
  const text = textInput.value.trim()
  if (text === "" || socket === null || socket.readyState !== WebSocket.OPEN) return
  socket.send(JSON.stringify({ type: "say", text }))
  textInput.value = ""
})
