/* porch page: uploads — the queue of picked or dropped files, each with its progress bar, and
   the drop target. How one file travels is a *sender*: the default sends the raw bytes as
   one POST; another module can register a sender for the files it wants (for example large
   files sent resumably) with registerSender. A sender gets an upload `task`:

     task.file                 the File
     task.progress(sent, total) bytes sent so far (may go back after a retry)
     task.done()               stored; the listing refreshes when the queue empties
     task.fail(message)        failed, with the server's text

   and must call exactly one of done or fail. */

import { $, doc } from "./dom.js";
import { humanSize } from "./format.js";
import { refreshRows } from "./rows.js";

const PARALLEL = 2;
const senders = [];
const waiting = [];
let running = 0;
let saved = [];

/** Send the files for which `accepts(file)` is true with `send(task)`; the sender
    registered last is asked first, the raw POST is the fallback. */
export function registerSender(accepts, send) {
  senders.unshift({ accepts, send });
}

/** The server's error text from an error response's JSON body, else "STATUS Reason". */
export function errorText(status, statusText, body) {
  try {
    const data = JSON.parse(body);
    if (data && data.detail) return `${data.status} ${data.error}: ${data.detail}`;
  } catch {
    // not JSON: fall through
  }
  return `${status} ${statusText || "error"}`;
}

function makeItem(file) {
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
  $("#queue").append(item);
  return item;
}

function makeTask(file, item) {
  let started = 0;
  let ended = false;
  const status = (text) => ($(".item-status", item).textContent = text);
  const detail = (text) => ($(".item-detail", item).textContent = text);
  const end = () => {
    if (ended) return false;
    ended = true;
    running -= 1;
    pump();
    return true;
  };
  return {
    file,
    item,
    start() {
      started = performance.now();
      item.dataset.state = "sending";
      this.progress(0, file.size);
    },
    progress(sent, total) {
      const seconds = (performance.now() - started) / 1000;
      const speed = seconds > 0.2 ? sent / seconds : 0;
      const bar = $("progress", item);
      bar.max = total || 1;
      bar.value = sent;
      status((total ? Math.floor((sent / total) * 100) : 100) + "%");
      let text = `${humanSize(sent)} of ${humanSize(total)}`;
      if (speed > 0) {
        text += ` · ${humanSize(Math.round(speed))}/s`;
        if (sent < total) text += ` · ${Math.ceil((total - sent) / speed)} s left`;
      }
      detail(text);
    },
    done() {
      this.progress(file.size, file.size);
      item.dataset.state = "done";
      status("Done");
      detail(`${humanSize(file.size)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      saved.push(file.name);
      end();
    },
    fail(message) {
      item.dataset.state = "error";
      status("Failed");
      const line = $(".item-detail", item);
      line.textContent = message;
      line.setAttribute("role", "alert");
      end();
    },
  };
}

/** The default sender: the raw bytes, streamed by the browser straight from the disk, as one
    POST /NAME, which never replaces an existing file (409); a 1 GiB file never passes
    through JavaScript. */
function sendWhole(task) {
  const { file } = task;
  const xhr = new XMLHttpRequest();
  // Uploads name the file in the URL, below the mount point when porch runs inside
  // another ASGI application (docs/asgi.md).
  xhr.open("POST", doc.body.dataset.mount + "/" + encodeURIComponent(file.name));
  xhr.setRequestHeader("Accept", "application/json");
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  xhr.upload.addEventListener("progress", (event) => {
    task.progress(event.loaded, event.lengthComputable ? event.total : file.size);
  });
  xhr.addEventListener("load", () => {
    if (xhr.status >= 200 && xhr.status < 300) task.done();
    else task.fail(errorText(xhr.status, xhr.statusText, xhr.responseText));
  });
  xhr.addEventListener("error", () => task.fail("The connection failed before the server answered."));
  xhr.send(file);
}

function pump() {
  while (running < PARALLEL && waiting.length) {
    running += 1;
    const task = waiting.shift();
    task.start();
    const sender = senders.find((candidate) => candidate.accepts(task.file));
    (sender ? sender.send : sendWhole)(task);
  }
  if (running === 0 && saved.length) {
    const names = saved;
    saved = [];
    refreshRows(names);
  }
}

/** Queue `files` ([File, problem-or-null] pairs); a file with a problem fails at once. */
export function enqueue(files) {
  for (const [file, problem] of files) {
    const task = makeTask(file, makeItem(file));
    if (problem) {
      running += 1; // fail() ends it, keeping the count right
      task.fail(problem);
    } else {
      waiting.push(task);
    }
  }
  pump();
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

/** The file picker, the form's button and the whole page as a drop target (when the page has
    an upload form). */
export function wireUploads() {
  const form = $("#dropzone");
  if (!form) return;
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
