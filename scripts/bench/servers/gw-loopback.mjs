// Preload (node --import) for a gateway that has no flag for its listen address (supergateway 4.0.0 listens on
// every interface): a listen(port) without a host binds 127.0.0.1 instead, so the gateway bench stays on loopback.
import net from "node:net"

const listen = net.Server.prototype.listen
net.Server.prototype.listen = function(...args) {
  const [first] = args
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    if (typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1")
  } else if (first !== null && typeof first === "object" && first.path === undefined && first.host === undefined) {
    args[0] = { ...first, host: "127.0.0.1" }
  }
  return listen.apply(this, args)
}
