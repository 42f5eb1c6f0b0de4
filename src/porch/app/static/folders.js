/* porch page: the folder features of issue 15 (docs/folders.md) — a grid view with lazily
   loaded thumbnails (PATH?thumb), a lightbox stepping through the folder's pictures, a
   checksum on demand (PATH?hash=sha256), and the selection downloaded as one zip (a form
   posted to ?zip). The selection is selection.js's, the one the file manager moves and
   deletes: its bar gets the zip button (#sel-zip, in the page when archives are on).
   Without this module the page still has the search box, the zip link and the README,
   which the server renders. */

import { wireDialog } from "./dialogs.js";
import { $, doc } from "./dom.js";
import { fileUrl, nameLink, onRowsChanged, rows, rowsBody, visibleRows } from "./rows.js";
import { onSelectionChanged, targets } from "./selection.js";

const body = doc.body;
const VIEW_KEY = "porch.view";
const THUMBNAILS = body.hasAttribute("data-thumbnails");
const PICTURE = /\.(jpe?g|png|gif|webp)$/i;

const isPicture = (row) => row.dataset.type === "image" && PICTURE.test(nameLink(row).textContent);
const fileRows = () => rows().filter((row) => row.classList.contains("file"));

function element(tag, attributes = {}, text = "") {
  const node = doc.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

// -- Grid view ---------------------------------------------------------------------------

function addThumbnails() {
  if (!body.classList.contains("grid")) return;
  for (const row of rows()) {
    if ($(".thumb", row)) continue;
    const cell = $("td.name", row);
    if (THUMBNAILS && isPicture(row)) {
      const image = element("img", { class: "thumb", loading: "lazy", alt: "", decoding: "async" });
      image.src = fileUrl(row, "thumb");
      image.addEventListener("click", () => openLightbox(row));
      cell.prepend(image);
    } else {
      cell.prepend(element("span", { class: "thumb thumb-icon", "aria-hidden": "true" }));
    }
  }
}

function setView(grid) {
  body.classList.toggle("grid", grid);
  const toggle = $("#view-toggle");
  toggle.setAttribute("aria-pressed", String(grid));
  toggle.textContent = grid ? "List" : "Grid";
  try {
    localStorage.setItem(VIEW_KEY, grid ? "grid" : "list");
  } catch {
    // storage refused (private mode): the choice lasts for this page only
  }
  addThumbnails();
}

// -- Lightbox ----------------------------------------------------------------------------

let lightbox = null;
let showing = null;

function buildLightbox() {
  lightbox = element("dialog", { id: "lightbox", class: "panel lightbox", "aria-labelledby": "lightbox-title" });
  const head = element("div", { class: "panel-head" });
  head.append(
    element("h2", { id: "lightbox-title" }),
    element("span", { id: "lightbox-count", class: "lightbox-count" }),
    element("button", { type: "button", class: "button close", "data-close": "", "aria-label": "Close" }, "✕"),
  );
  const stage = element("div", { class: "lightbox-stage" });
  const previous = element("button", { type: "button", class: "button step", id: "lightbox-previous", "aria-label": "Previous picture" }, "‹");
  const next = element("button", { type: "button", class: "button step", id: "lightbox-next", "aria-label": "Next picture" }, "›");
  stage.append(previous, element("img", { id: "lightbox-image", alt: "" }), next);
  lightbox.append(head, stage);
  body.append(lightbox);
  wireDialog(lightbox);
  previous.addEventListener("click", () => stepLightbox(-1));
  next.addEventListener("click", () => stepLightbox(1));
  lightbox.addEventListener("keydown", (event) => {
    if (event.key === "ArrowRight") stepLightbox(1);
    else if (event.key === "ArrowLeft") stepLightbox(-1);
  });
}

const pictures = () => visibleRows().filter(isPicture);

/** Show `row`'s picture in the lightbox, opening it if closed. */
export function openLightbox(row) {
  if (!lightbox) buildLightbox();
  showing = row;
  const list = pictures();
  const name = nameLink(row).textContent;
  $("#lightbox-title").textContent = name;
  $("#lightbox-count").textContent = `${list.indexOf(row) + 1} / ${list.length}`;
  const image = $("#lightbox-image");
  image.alt = name;
  image.src = fileUrl(row);
  $("#lightbox-previous").disabled = list.indexOf(row) <= 0;
  $("#lightbox-next").disabled = list.indexOf(row) >= list.length - 1;
  if (!lightbox.open) lightbox.showModal();
}

function stepLightbox(direction) {
  const list = pictures();
  const next = list[list.indexOf(showing) + direction];
  if (next) openLightbox(next);
}

// -- Checksums ---------------------------------------------------------------------------

let checksumPanel = null;
let checksumToken = 0;

function buildChecksumPanel() {
  checksumPanel = element("dialog", { id: "checksum-panel", class: "panel checksum-panel", "aria-labelledby": "checksum-title" });
  const head = element("div", { class: "panel-head" });
  head.append(
    element("h2", { id: "checksum-title" }, "SHA-256"),
    element("button", { type: "button", class: "button close", "data-close": "", "aria-label": "Close" }, "✕"),
  );
  checksumPanel.append(
    head,
    element("p", { id: "checksum-name", class: "checksum-name" }),
    element("p", {}, "").appendChild(element("code", { id: "checksum-value", class: "checksum-value" })).parentNode,
    element("p", { class: "checksum-hint" }, "Compare it with the digest the file's publisher gives; on your machine: sha256sum FILE"),
  );
  body.append(checksumPanel);
  wireDialog(checksumPanel);
}

async function showChecksum(row) {
  if (!checksumPanel) buildChecksumPanel();
  const token = ++checksumToken;
  const value = $("#checksum-value");
  $("#checksum-name").textContent = nameLink(row).textContent;
  value.textContent = "Computing…";
  if (!checksumPanel.open) checksumPanel.showModal();
  try {
    const response = await fetch(fileUrl(row, "hash=sha256"), { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    const data = await response.json();
    if (token === checksumToken) value.textContent = data.digest;
  } catch (error) {
    if (token === checksumToken) value.textContent = "Could not compute it: " + error.message;
  }
}

// -- Selection ---------------------------------------------------------------------------

/** A row's name as stored (a folder's without the listing's trailing "/"). */
const nameOf = (row) => nameLink(row).textContent.replace(/\/$/, "");

function showZipButton(list) {
  $(".label", $("#sel-zip")).textContent = `Download ${list.length} selected (.zip)`;
}

/** Post the selection (selection.js's targets) to this folder's ?zip, one entry field per
    name, as a plain form, so the browser downloads the attachment as it would a link. */
function downloadSelection() {
  const list = targets();
  if (!list.length) return;
  const action = location.pathname + "?zip";
  const form = element("form", { method: "post", action, enctype: "application/x-www-form-urlencoded", hidden: "" });
  for (const row of list) form.append(element("input", { type: "hidden", name: "entry", value: nameOf(row) }));
  body.append(form);
  form.submit();
  form.remove();
}

// -- Rows --------------------------------------------------------------------------------

function decorate() {
  for (const row of rows()) {
    if (!row.classList.contains("file") || $(".checksum-button", row)) continue;
    const button = element("button", { type: "button", class: "checksum-button", title: "SHA-256 checksum", "aria-label": "Checksum of " + nameOf(row) });
    button.tabIndex = -1;
    $("td.actions", row).prepend(button);
  }
  addThumbnails();
}

export function wireFolders() {
  const toolbar = $(".toolbar");
  if (!toolbar) return;
  const toggle = element("button", { type: "button", class: "button", id: "view-toggle", "aria-pressed": "false" }, "Grid");
  toggle.addEventListener("click", () => setView(!body.classList.contains("grid")));
  toolbar.append(toggle);
  const zip = $("#sel-zip");
  if (zip) {
    zip.addEventListener("click", downloadSelection);
    onSelectionChanged(showZipButton);
  }
  rowsBody.addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (!row) return;
    if (event.target.closest(".checksum-button")) showChecksum(row);
  });
  onRowsChanged(decorate);
  decorate();
  let saved = null;
  try {
    saved = localStorage.getItem(VIEW_KEY);
  } catch {
    saved = null;
  }
  if (saved === "grid" || (saved === null && fileRows().length && fileRows().every(isPicture))) setView(true);
}
