// The fan-out floor: every request goes to one Durable Object. GET /ws opens a hibernating
// WebSocket (no ticket, no session); POST /send sends every open socket one constant message,
// shaped and sized like a userdo KV event, and answers once each send was handed to the runtime.
import { DurableObject } from 'cloudflare:workers';

const MESSAGE = JSON.stringify({ seq: 1, event: 'kv:fan', data: { key: 'fan', value: { round: 0 } }, ts: 1764547200000 });

export class FanOutFloor extends DurableObject {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/ws') {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server);
      return new Response(null, { status: 101, webSocket: client });
    }
    if (pathname === '/send') {
      let sent = 0;
      for (const ws of this.ctx.getWebSockets()) {
        ws.send(MESSAGE);
        sent++;
      }
      return Response.json({ sent });
    }
    return Response.json({ ok: true });
  }

  webSocketMessage() {}

  webSocketClose(ws, code) {
    ws.close(code, 'bye');
  }
}

export default {
  fetch(request, env) {
    return env.FANOUT.get(env.FANOUT.idFromName('floor')).fetch(request);
  },
};
