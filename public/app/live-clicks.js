/**
 * The key's own events (`mine` topic) as they happen, for live clicks: the key is sent as the
 * first message (a browser cannot set headers on a WebSocket; never in the URL). Reconnects
 * after a drop; a socket closed for its key (1008, a revocation) is reported; stops when told to
 * (sign out).
 */
export function liveClicks(key, onRead, onRefused) {
  let socket = null;
  let stopped = false;
  let retry = 0;

  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    // No topics in the URL: `mine` is asked for once the key is accepted (a server in public mode
    // would otherwise answer the URL's topics before it knows the key).
    socket = new WebSocket(`${scheme}//${location.host}/ws?topics=`);
    socket.onopen = () => socket.send(JSON.stringify({ auth: key }));
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.kind === "authenticated") socket.send(JSON.stringify({ subscribe: ["mine"] }));
      if (data.kind === "subscribed" && data.topics.includes("mine")) document.body.dataset.live = "on";
      if (data.kind !== "events") return;
      for (const event of data.events) if (event.type === "read" && event.status === "OK") onRead(event);
    };
    socket.onclose = (event) => {
      document.body.dataset.live = "off";
      // 1008: the key was refused or revoked; the page asks the API whether it still works.
      if (event.code === 1008 && !stopped) onRefused();
      if (!stopped) retry = setTimeout(open, 1000);
    };
  }

  open();
  return {
    stop() {
      stopped = true;
      clearTimeout(retry);
      socket?.close();
    },
  };
}
