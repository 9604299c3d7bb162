/*
 * The admin key the dashboard watches with, kept for this browser session only (sessionStorage:
 * gone when the tab closes) and sent as the WebSocket's first message and as a Bearer header,
 * never in a URL. On a server in public mode (OBSERVABILITY_PUBLIC=true) it is never asked for.
 */
const STORAGE_KEY = "shorten.adminKey";

export function createAdminKey({ storage, card, form, input, message, onKey }) {
  const read = () => {
    try {
      return storage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  };
  const write = (key) => {
    try {
      if (key === null) storage.removeItem(STORAGE_KEY);
      else storage.setItem(STORAGE_KEY, key);
    } catch {
      // Storage refused (private mode): the key lasts as long as this page.
    }
  };
  let current = read();

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === "") return;
    current = key;
    write(key);
    input.value = "";
    card.hidden = true;
    onKey();
  });

  return {
    get value() {
      return current;
    },
    /** Bearer headers for the observability routes (none in public mode or without a key). */
    headers() {
      return current === null ? {} : { authorization: `Bearer ${current}` };
    },
    /** Shows the key form with why it is shown; a refused key is forgotten. */
    ask(why, { refused = false } = {}) {
      if (refused) {
        current = null;
        write(null);
      }
      message.textContent = why;
      card.hidden = false;
      input.focus();
    },
    hide() {
      card.hidden = true;
    },
  };
}
