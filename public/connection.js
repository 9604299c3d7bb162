/**
 * The dashboard's one WebSocket to /ws (events, metrics, topology): the admin-key handshake, and
 * reconnecting by itself after a server restart, a dropped network or a hung server. It draws
 * only its own status badge; each payload goes to the handler for its kind.
 *
 * @example
 *   const connection = createConnection({ adminKey, handlers: { metrics, events, topology, subscribed } });
 *   connection.connect();
 */
const SILENT_SOCKET_MS = 10_000; // metrics arrive every second; this long with nothing means a dead socket
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 8000;

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  // A server older than the feed or topology topics rejects the list and falls back to
  // events,metrics: its full stream is shown the same way (see handleMessage).
  return `${scheme}//${location.host}/ws?topics=feed,metrics,topology`;
}

export function createConnection({ adminKey, handlers }) {
  const badge = document.getElementById("connection-status");
  const badgeText = document.getElementById("connection-text");
  let socket = null;
  let attempt = 0;
  let connects = 0;
  let retryTimer = 0;
  let lastMessageAt = 0;

  function setStatus(state, text) {
    badge.dataset.state = state;
    // Counts opened sockets, so a test can tell a reconnect from a socket that never dropped.
    badge.dataset.connects = String(connects);
    badgeText.textContent = text;
  }

  function connect() {
    clearTimeout(retryTimer);
    setStatus(attempt === 0 ? "connecting" : "reconnecting", attempt === 0 ? "Connecting…" : `Reconnecting (attempt ${attempt + 1})…`);
    let next;
    try {
      next = new WebSocket(socketUrl());
    } catch {
      scheduleReconnect();
      return;
    }
    socket = next;
    next.onopen = () => {
      attempt = 0;
      connects++;
      lastMessageAt = Date.now();
      setStatus("connected", "Connected");
    };
    next.onmessage = (message) => {
      lastMessageAt = Date.now();
      handleMessage(message.data, next);
    };
    next.onclose = (event) => {
      // A socket we already gave up on (watchdog, key refused) must not schedule a second reconnect.
      if (socket !== next) return;
      socket = null;
      // 1008 about the key: retrying with it cannot help; wait for another one.
      if (event.code === 1008 && /key|authentication/.test(event.reason)) {
        lock(`The server refused the key (${event.reason}). Paste an admin key.`, true);
        return;
      }
      scheduleReconnect();
    };
  }

  /** Stops connecting until a key is given: the socket is dropped and the key form shown. */
  function lock(why, refused) {
    const current = socket;
    socket = null;
    current?.close();
    clearTimeout(retryTimer);
    setStatus("locked", "Needs an admin key");
    adminKey.ask(why, { refused });
  }

  // The server asks for a key unless it runs in public mode: the stored one is sent, or asked for.
  function authenticate(to) {
    if (adminKey.value === null) lock("This dashboard shows every link's traffic, so it needs an admin key.", false);
    else to.send(JSON.stringify({ auth: adminKey.value }));
  }

  // Exponential backoff with jitter, so a restarted server is not hit by every dashboard at once.
  function scheduleReconnect() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    attempt++;
    setStatus("disconnected", `Disconnected · retry in ${(delay / 1000).toFixed(1)} s`);
    retryTimer = setTimeout(connect, delay);
  }

  /** A fresh start (a new key, the network back): no backoff left over from earlier failures. */
  function restart() {
    attempt = 0;
    connect();
  }

  function handleMessage(data, from) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message?.kind === "metrics") handlers.metrics(message);
    else if (message?.kind === "events" && (message.topic === "feed" || message.topic === "events") && Array.isArray(message.events)) handlers.events(message.events, Number(message.skipped) || 0);
    else if (message?.kind === "topology") handlers.topology(message);
    else if (message?.kind === "subscribed" && Array.isArray(message.topics)) handlers.subscribed(message.topics);
    else if (message?.kind === "auth-required") authenticate(from);
    else if (message?.kind === "authenticated" && message.everything !== true) lock("That key is an ordinary one: it sees only its own links. The dashboard needs an admin key.", true);
    else if (message?.kind === "authenticated") adminKey.hide();
    else if (message?.kind === "error") console.warn("server refused a socket message:", message.error?.message);
  }

  // A socket can stay "open" through a hung server or a dropped network; silence is the only sign.
  setInterval(() => {
    const current = socket;
    if (current?.readyState === WebSocket.OPEN && Date.now() - lastMessageAt > SILENT_SOCKET_MS) {
      socket = null;
      current.close();
      scheduleReconnect();
    }
  }, 1000);

  addEventListener("online", () => {
    if (!socket) restart();
  });

  return { connect, restart };
}
