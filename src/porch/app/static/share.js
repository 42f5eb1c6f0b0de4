/* porch page: the share panel — the page's URL as a QR code and a "Copy link" button. */

import { wireDialog } from "./dialogs.js";
import { $, doc } from "./dom.js";

function openShare(event) {
  event.preventDefault();
  const panel = $("#share-panel");
  const image = $("#share-qr");
  if (!image.getAttribute("src")) image.src = $("#share").href;
  panel.showModal();
}

async function copyLink() {
  const button = $("#share-copy");
  const text = $("#share-url").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard access needs a secure context (plain http on a LAN address is not one).
    const range = doc.createRange();
    range.selectNodeContents($("#share-url"));
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    doc.execCommand("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = "Copy link"), 1500);
}

export function wireShare() {
  wireDialog($("#share-panel"));
  $("#share").addEventListener("click", openShare);
  $("#share-copy").addEventListener("click", copyLink);
}
