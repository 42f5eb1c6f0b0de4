/* porch page: the preview dialog for images, text, audio and video, with the arrow keys
   stepping through the folder's previewable rows. */

import { wireDialog } from "./dialogs.js";
import { $, doc } from "./dom.js";
import { humanSize } from "./format.js";
import { canPreview, fileUrl, nameLink, rowsBody, select, visibleRows } from "./rows.js";

const TEXT_LIMIT = 65536;
const preview = $("#preview");
const previewBody = $("#preview-body");
const previewNote = $("#preview-note");
let previewing = null;
let previewOpener = null; // focused when the preview opened; closing returns focus there
let previewToken = 0;

async function showText(row, token) {
  const pre = doc.createElement("pre");
  pre.className = "text-preview";
  pre.textContent = "Loading…";
  previewBody.append(pre);
  try {
    const response = await fetch(fileUrl(row, "bytes=" + TEXT_LIMIT));
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (token !== previewToken) return;
    if (bytes.includes(0)) {
      pre.textContent = "";
      previewNote.textContent = "This looks like a binary file: no text preview.";
      return;
    }
    // stream: true drops a character cut in half at the 64 KiB boundary.
    pre.textContent = new TextDecoder("utf-8").decode(bytes, { stream: true });
    const size = Number($("td.size", row).dataset.bytes);
    if (size > TEXT_LIMIT) {
      previewNote.textContent = `Showing the first ${humanSize(TEXT_LIMIT)} of ${humanSize(size)}.`;
    }
  } catch (error) {
    if (token === previewToken) pre.textContent = "Could not load the file: " + error.message;
  }
}

/** Show `row`'s file in the preview dialog (opening it if closed) and select the row. */
export function openPreview(row) {
  previewing = row;
  previewToken += 1;
  const name = nameLink(row).textContent;
  const type = row.dataset.type;
  $("#preview-title").textContent = name;
  $("#preview-open").href = fileUrl(row);
  $("#preview-download").href = fileUrl(row, "download");
  previewBody.replaceChildren();
  previewNote.textContent = "";
  preview.dataset.type = type;
  if (type === "image") {
    const image = new Image();
    image.alt = name;
    image.src = fileUrl(row);
    image.addEventListener("error", () => {
      previewNote.textContent = "This browser cannot show this image.";
    });
    previewBody.append(image);
  } else if (type === "audio" || type === "video") {
    // Native players fetch with Range requests, so seeking never downloads the whole file.
    const player = doc.createElement(type);
    player.controls = true;
    player.preload = "metadata";
    player.src = fileUrl(row);
    player.addEventListener("error", () => {
      previewNote.textContent = "This browser cannot play this file: download it instead.";
    });
    previewBody.append(player);
  } else {
    showText(row, previewToken);
  }
  if (!preview.open) {
    previewOpener = doc.activeElement;
    preview.showModal();
  }
  select(row, false);
}

/** Move the preview to the next (1) or previous (-1) previewable visible row, if any. */
export function stepPreview(direction) {
  const list = visibleRows().filter(canPreview);
  const index = list.indexOf(previewing);
  const next = list[index + direction];
  if (next) openPreview(next);
}

export function wirePreview() {
  rowsBody.addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (row && event.target.closest(".preview-button")) openPreview(row);
  });
  wireDialog(preview);
  // The close event is queued, not fired inside close() or the Escape key's handler: by the
  // time it runs the user may have focused something else (pressed "/", clicked the filter)
  // or reopened the preview. It must act only on what is still the state it was queued for.
  preview.addEventListener("close", () => {
    if (preview.open) return; // reopened meanwhile: openPreview already replaced the body
    previewToken += 1;
    previewBody.replaceChildren(); // stops audio and video
    // Closing puts focus back on the opener (or on the body); the arrow keys may have moved
    // the preview to another row, so move focus to that row, but never away from an element
    // focused since the dialog closed.
    const active = doc.activeElement;
    const untouched =
      !active || active === doc.body || active === previewOpener || preview.contains(active);
    if (untouched && previewing && previewing.isConnected) {
      nameLink(previewing).focus({ preventScroll: true });
    }
  });
  preview.addEventListener("keydown", (event) => {
    if (event.target.closest("audio, video")) return; // their arrows seek
    if (event.key === "ArrowRight") stepPreview(1);
    else if (event.key === "ArrowLeft") stepPreview(-1);
  });
}
