import { send } from "./api.js";

/**
 * A link's QR code: the SVG shown in the page, and SVG and PNG downloads. The images come with
 * the key in a header, so they are fetched and handed to the browser as blobs.
 */
export function qrPanel(dialog) {
  let link = null;
  const image = (format, size) => send("GET", `/api/links/${encodeURIComponent(link.short_code)}/qr?format=${format}&size=${size}`);

  async function download(format) {
    const blob = await (await image(format, 1024)).blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${link.short_code}.${format}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  dialog.querySelector("#qr-svg").addEventListener("click", () => void download("svg"));
  dialog.querySelector("#qr-png").addEventListener("click", () => void download("png"));
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  return {
    async open(chosen) {
      link = chosen;
      dialog.querySelector("#qr-url").textContent = `${link.short_url}?qr=1`;
      const holder = dialog.querySelector("#qr-image");
      holder.replaceChildren();
      dialog.showModal();
      // The library's SVG, parsed as an image document (no scripts run from it) and adopted.
      const svg = new DOMParser().parseFromString(await (await image("svg", 320)).text(), "image/svg+xml").documentElement;
      holder.replaceChildren(document.importNode(svg, true));
    },
  };
}
