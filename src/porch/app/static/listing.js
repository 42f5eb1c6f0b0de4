/* porch listing page: filter, keyboard navigation, relative times, previews, share QR, and
   uploads with per-file progress. Served by porch at /-/static/listing.js: the page's CSP
   allows script from porch's own origin only, so nothing here is inline, and nothing here is
   needed: without it the table, sorting, links, downloads and the plain upload form all work.
   docs/webapp.md describes the behaviour. */
"use strict";

(function () {
  const doc = document;
  doc.documentElement.classList.add("js");

  const $ = (selector, root) => (root || doc).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || doc).querySelectorAll(selector));

  // -- Sizes and times -------------------------------------------------------------------

  const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

  /** 532 B, 1.4 KiB, 23 MiB: the same rule as porch.app.listing.human_size. */
  function humanSize(bytes) {
    if (bytes < 1024) return bytes + " B";
    let value = bytes;
    let unit = UNITS[0];
    for (unit of UNITS) {
      value /= 1024;
      if (value < 1024) break;
    }
    return (value < 10 ? value.toFixed(1) : Math.round(value)) + " " + unit;
  }

  const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const absoluteFormat = new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
  const STEPS = [
    [3600, 60, "minute"],
    [86400, 3600, "hour"],
    [604800, 86400, "day"],
    [2629800, 604800, "week"],
    [31557600, 2629800, "month"],
    [Infinity, 31557600, "year"],
  ];

  function relativeTime(date, now) {
    const seconds = (date.getTime() - now) / 1000;
    const size = Math.abs(seconds);
    if (size < 45) return "just now";
    for (const [below, unit, name] of STEPS) {
      if (size < below) return relativeFormat.format(Math.round(seconds / unit), name);
    }
    return "";
  }

  function showTimes() {
    const now = Date.now();
    for (const time of $$("#rows time[datetime]")) {
      const date = new Date(time.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) continue;
      time.textContent = relativeTime(date, now);
      time.title = absoluteFormat.format(date);
    }
  }

  // -- Rows ------------------------------------------------------------------------------

  const rowsBody = $("#rows");
  const filterBox = $(".filter");
  const filter = $("#filter");
  const count = $("#count");
  const noMatch = $("#no-match");
  const PREVIEWABLE = new Set(["image", "audio", "video", "text", "code"]);

  const rows = () => $$("tr", rowsBody);
  const nameLink = (row) => $("td.name a", row);
  const canPreview = (row) => PREVIEWABLE.has(row.dataset.type);

  /** Preview buttons (script-only, so not in the server's HTML) and times. */
  function decorateRows() {
    for (const row of rows()) {
      if (!canPreview(row) || $(".preview-button", row)) continue;
      const button = doc.createElement("button");
      button.type = "button";
      button.className = "preview-button";
      button.tabIndex = -1; // Space previews the selected row; keep Tab stops few
      button.setAttribute("aria-label", "Preview " + nameLink(row).textContent);
      button.title = "Preview";
      $("td.actions", row).prepend(button);
    }
    showTimes();
  }

  function countText(total) {
    return total + (total === 1 ? " entry" : " entries");
  }

  function applyFilter() {
    const terms = filter.value.trim().toLocaleLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    let total = 0;
    for (const row of rows()) {
      if (row.dataset.type === "parent") {
        row.hidden = terms.length > 0;
        continue;
      }
      total += 1;
      const name = nameLink(row).textContent.toLocaleLowerCase();
      const match = terms.every((term) => name.includes(term));
      row.hidden = !match;
      if (match) shown += 1;
    }
    count.textContent = terms.length ? `${shown} of ${countText(total)}` : countText(total);
    noMatch.hidden = !(terms.length && shown === 0);
    if (selected && selected.hidden) select(null);
  }

  // -- Selection and keys ----------------------------------------------------------------

  let selected = null;

  function select(row, focus = true) {
    if (selected) {
      selected.classList.remove("selected");
      selected.removeAttribute("aria-selected");
    }
    selected = row;
    if (!row) return;
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    if (focus) nameLink(row).focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  const visibleRows = () => rows().filter((row) => !row.hidden);

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if ($("dialog[open]")) return;
    const target = event.target;
    const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (target === filter) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        select(visibleRows()[0] || null);
      } else if (event.key === "Enter") {
        const first = visibleRows()[0];
        if (first) {
          event.preventDefault();
          nameLink(first).click();
        }
      } else if (event.key === "Escape") {
        if (filter.value) {
          filter.value = "";
          applyFilter();
        } else {
          filter.blur();
        }
      }
      return;
    }
    if (typing) return;
    if (event.key === "/") {
      event.preventDefault();
      filter.focus();
      filter.select();
      return;
    }
    const list = visibleRows();
    const index = selected ? list.indexOf(selected) : -1;
    if (event.key === "ArrowDown" || event.key === "j") {
      event.preventDefault();
      select(list[Math.min(index + 1, list.length - 1)] || null);
    } else if (event.key === "ArrowUp" || event.key === "k") {
      event.preventDefault();
      if (index <= 0) {
        select(null);
        filter.focus();
      } else {
        select(list[index - 1]);
      }
    } else if (event.key === "Home" && list.length) {
      event.preventDefault();
      select(list[0]);
    } else if (event.key === "End" && list.length) {
      event.preventDefault();
      select(list[list.length - 1]);
    } else if (event.key === " " && selected && canPreview(selected)) {
      event.preventDefault();
      openPreview(selected);
    } else if (event.key === "Enter" && selected && !selected.contains(target)) {
      event.preventDefault();
      nameLink(selected).click();
    }
  }

  // -- Dialogs ---------------------------------------------------------------------------

  function wireDialog(dialog) {
    for (const button of $$("[data-close]", dialog)) {
      button.addEventListener("click", () => dialog.close());
    }
    // A click on the backdrop (outside the panel's box) closes it.
    dialog.addEventListener("click", (event) => {
      if (event.target !== dialog) return;
      const box = dialog.getBoundingClientRect();
      const inside =
        event.clientX >= box.left &&
        event.clientX <= box.right &&
        event.clientY >= box.top &&
        event.clientY <= box.bottom;
      if (!inside) dialog.close();
    });
  }

  // -- Preview ---------------------------------------------------------------------------

  const TEXT_LIMIT = 65536;
  const preview = $("#preview");
  const previewBody = $("#preview-body");
  const previewNote = $("#preview-note");
  let previewing = null;
  let previewOpener = null; // focused when the preview opened; closing returns focus there
  let previewToken = 0;

  function fileUrl(row, search) {
    const url = new URL(nameLink(row).href);
    url.search = search || "";
    return url.href;
  }

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

  function openPreview(row) {
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

  function stepPreview(direction) {
    const list = visibleRows().filter(canPreview);
    const index = list.indexOf(previewing);
    const next = list[index + direction];
    if (next) openPreview(next);
  }

  // -- Share -----------------------------------------------------------------------------

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

  // -- Uploads ---------------------------------------------------------------------------

  const PARALLEL = 2;
  const form = $("#dropzone");
  const queue = $("#queue");
  const waiting = [];
  let running = 0;
  let saved = [];

  function errorMessage(xhr) {
    try {
      const data = JSON.parse(xhr.responseText);
      if (data && data.detail) return `${data.status} ${data.error}: ${data.detail}`;
    } catch {
      // not JSON: fall through
    }
    return `${xhr.status} ${xhr.statusText || "error"}`;
  }

  function makeItem(file, problem) {
    const item = doc.createElement("li");
    item.className = "item";
    item.dataset.state = "queued";
    item.innerHTML =
      '<span class="icon state-icon" aria-hidden="true"></span>' +
      '<div class="item-main"><div class="item-line"><span class="item-name"></span>' +
      '<span class="item-status">Waiting</span></div><progress max="1" value="0"></progress>' +
      '<div class="item-detail"></div></div>';
    $(".item-name", item).textContent = file.name;
    $("progress", item).setAttribute("aria-label", "Upload of " + file.name);
    $(".item-detail", item).textContent = humanSize(file.size);
    queue.append(item);
    const entry = { file, item };
    if (problem) fail(entry, problem);
    return entry;
  }

  function enqueue(files) {
    for (const [file, problem] of files) {
      const entry = makeItem(file, problem);
      if (!problem) waiting.push(entry);
    }
    pump();
  }

  function pump() {
    while (running < PARALLEL && waiting.length) {
      running += 1;
      send(waiting.shift());
    }
    if (running === 0 && saved.length) {
      const names = saved;
      saved = [];
      refresh(names);
    }
  }

  function progress(entry, sent, total, started) {
    const { item } = entry;
    const seconds = (performance.now() - started) / 1000;
    const speed = seconds > 0.2 ? sent / seconds : 0;
    const bar = $("progress", item);
    bar.max = total || 1;
    bar.value = sent;
    const percent = total ? Math.floor((sent / total) * 100) : 100;
    $(".item-status", item).textContent = percent + "%";
    let detail = `${humanSize(sent)} of ${humanSize(total)}`;
    if (speed > 0) {
      detail += ` · ${humanSize(Math.round(speed))}/s`;
      if (sent < total) detail += ` · ${Math.ceil((total - sent) / speed)} s left`;
    }
    $(".item-detail", item).textContent = detail;
  }

  function finish(entry) {
    running -= 1;
    pump();
  }

  function fail(entry, message) {
    entry.item.dataset.state = "error";
    $(".item-status", entry.item).textContent = "Failed";
    const detail = $(".item-detail", entry.item);
    detail.textContent = message;
    detail.setAttribute("role", "alert");
  }

  function send(entry) {
    const { file, item } = entry;
    const started = performance.now();
    item.dataset.state = "sending";
    progress(entry, 0, file.size, started);
    // The raw bytes, streamed by the browser straight from the disk: POST /NAME never
    // replaces an existing file (409), and a 1 GiB file never passes through JavaScript.
    const xhr = new XMLHttpRequest();
    // Uploads name the file in the URL, below the mount point when porch runs inside
    // another ASGI application (docs/asgi.md).
    xhr.open("POST", document.body.dataset.mount + "/" + encodeURIComponent(file.name));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.addEventListener("progress", (event) => {
      progress(entry, event.loaded, event.lengthComputable ? event.total : file.size, started);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        progress(entry, file.size, file.size, started);
        item.dataset.state = "done";
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        $(".item-status", item).textContent = "Done";
        $(".item-detail", item).textContent = `${humanSize(file.size)} in ${seconds} s`;
        saved.push(file.name);
      } else {
        fail(entry, errorMessage(xhr));
      }
      finish(entry);
    });
    xhr.addEventListener("error", () => {
      fail(entry, "The connection failed before the server answered.");
      finish(entry);
    });
    xhr.send(file);
  }

  /** Re-read the listing (same URL, same sort) and swap in its rows. */
  async function refresh(names) {
    let response;
    try {
      response = await fetch(location.href, { headers: { Accept: "text/html" }, cache: "no-store" });
    } catch {
      return;
    }
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const freshRows = fresh.getElementById("rows");
    if (!freshRows) return;
    rowsBody.replaceChildren(...Array.from(freshRows.childNodes, (node) => doc.importNode(node, true)));
    const empty = $("main .empty:not(.no-match)");
    if (empty && rows().some((row) => row.dataset.type !== "parent")) empty.remove();
    selected = null;
    decorateRows();
    applyFilter();
    for (const row of rows()) {
      if (names.includes(nameLink(row).textContent)) row.classList.add("new");
    }
  }

  function filesFrom(dataTransfer) {
    const items = Array.from(dataTransfer.items || []);
    return Array.from(dataTransfer.files, (file, index) => {
      const entry = items[index] && items[index].webkitGetAsEntry && items[index].webkitGetAsEntry();
      const problem = entry && entry.isDirectory ? "Folders cannot be uploaded: drop the files in it." : null;
      return [file, problem];
    });
  }

  const hasFiles = (event) =>
    event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");

  function wireUploads() {
    const input = $("#upload-files");
    input.addEventListener("change", () => {
      enqueue(Array.from(input.files, (file) => [file, null]));
      input.value = "";
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      input.click();
    });
    // The whole page takes drops; the drop zone lights up while files hover over it.
    let depth = 0;
    doc.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      form.classList.add("dragging");
    });
    doc.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    doc.addEventListener("dragleave", (event) => {
      if (!hasFiles(event)) return;
      depth -= 1;
      if (depth <= 0) {
        depth = 0;
        form.classList.remove("dragging");
      }
    });
    doc.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      form.classList.remove("dragging");
      enqueue(filesFrom(event.dataTransfer));
    });
  }

  // -- Start -----------------------------------------------------------------------------

  filterBox.hidden = false;
  filter.addEventListener("input", applyFilter);
  doc.addEventListener("keydown", onKey);
  rowsBody.addEventListener("focusin", (event) => {
    const row = event.target.closest("tr");
    if (row && row !== selected) select(row, false);
  });
  rowsBody.addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (!row) return;
    if (event.target.closest(".preview-button")) {
      openPreview(row);
    } else if (!event.target.closest("a, button")) {
      select(row, false);
    }
  });
  wireDialog(preview);
  wireDialog($("#share-panel"));
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
  $("#share").addEventListener("click", openShare);
  $("#share-copy").addEventListener("click", copyLink);
  if (form) wireUploads();
  decorateRows();
  if (filter.value) applyFilter(); // a value the browser restored on back/forward
  setInterval(showTimes, 60000);
})();
