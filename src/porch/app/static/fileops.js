/* porch page: file operations over fetch with WebDAV's methods (RFC 4918), the same the
   desktop clients use, so the page can do nothing a WebDAV client could not: MKCOL makes a
   folder, MOVE renames and moves (Destination is an absolute URL on this server, Overwrite:
   F so nothing existing is ever replaced), DELETE deletes, and POST /-/trash/restore undoes a
   deletion that went to the trash, and PROPFIND lists a folder's subfolders for the picker.
   Each resolves with what the server said or rejects with an
   OpError carrying the server's own error text (errorText: the JSON body's status, reason and
   detail). No DOM here beyond reading <body data-mount>. */

import { errorText } from "./uploads.js";

/** A failed operation: `message` is the server's text ("423 Locked: ..."), `status` its code
    (0 when the connection failed). */
export class OpError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** The trash ids a response carries (Porch-Trash-Id: one or several, comma-separated). */
export function trashIds(response) {
  const header = response.headers.get("Porch-Trash-Id") || "";
  return header
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
}

async function send(method, url, headers = {}, body = undefined) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: { Accept: "application/json", ...headers },
      body,
      cache: "no-store",
      redirect: "manual",
    });
  } catch {
    throw new OpError("The connection failed before the server answered.", 0);
  }
  if (response.status === 207 && method !== "PROPFIND") {
    // A DELETE, COPY or MOVE of a folder that went only partly: the members that failed.
    const failures = failedMembers(await response.text(), url);
    if (failures.length)
      throw new OpError(`207 Multi-Status: not everything inside: ${failures.join(", ")}`, 207);
    return response;
  }
  if (response.ok) return response;
  throw new OpError(errorText(response.status, response.statusText, await response.text()), response.status);
}

/** "deep/b.txt (403 Forbidden)" for each member of a 207 body whose status is not 2xx. */
function failedMembers(text, base) {
  const xml = new DOMParser().parseFromString(text, "application/xml");
  const failed = [];
  for (const item of xml.getElementsByTagNameNS("DAV:", "response")) {
    const href = item.getElementsByTagNameNS("DAV:", "href")[0];
    const status = item.getElementsByTagNameNS("DAV:", "status")[0];
    const code = status ? status.textContent.trim().replace(/^HTTP\/\d(\.\d)?\s+/, "") : "";
    if (!href || /^2\d\d/.test(code)) continue;
    const path = decodeURIComponent(new URL(href.textContent, base).pathname);
    failed.push(`${path} (${code || "failed"})`);
  }
  return failed;
}

/** The absolute URL of `name` in the folder `folder` (an absolute URL ending in "/"); a folder
    gets its trailing slash. */
export function childUrl(folder, name, isDir = false) {
  return new URL(encodeURIComponent(name) + (isDir ? "/" : ""), folder).href;
}

/** Make the folder at `url` (which ends in "/"). 405 if something exists there. */
export async function makeFolder(url) {
  await send("MKCOL", url);
}

/** Move (or rename) `from` to `to`, both absolute URLs; never replaces what is at `to`
    (the server answers 412). Resolves with the trash ids, if any. */
export async function move(from, to) {
  const response = await send("MOVE", from, { Destination: to, Overwrite: "F" });
  return trashIds(response);
}

/** Delete `url` (a folder with everything in it); resolves with the trash ids the server
    gave (none without a trash: then it is gone for good). */
export async function remove(url) {
  return trashIds(await send("DELETE", url));
}

/** Put back the trashed items `ids` where they were (409 if something is there now). */
export async function restore(ids) {
  const url = document.body.dataset.mount + "/-/trash/restore";
  for (const id of ids) {
    await send(
      "POST",
      url,
      { "Content-Type": "application/x-www-form-urlencoded" },
      new URLSearchParams({ id }),
    );
  }
}

const PROPFIND_TYPES =
  '<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>';

/** The subfolder names of the folder at `url` (ending in "/"): PROPFIND Depth 1, which lists
    a folder with an index.html too (its GET serves the page instead of a listing). */
export async function subfolders(url) {
  const response = await send(
    "PROPFIND",
    url,
    { Depth: "1", "Content-Type": "application/xml" },
    PROPFIND_TYPES,
  );
  const xml = new DOMParser().parseFromString(await response.text(), "application/xml");
  const self = new URL(url).pathname;
  const names = [];
  for (const item of xml.getElementsByTagNameNS("DAV:", "response")) {
    const href = item.getElementsByTagNameNS("DAV:", "href")[0];
    if (!href || !item.getElementsByTagNameNS("DAV:", "collection").length) continue;
    const path = new URL(href.textContent, url).pathname;
    if (path === self) continue;
    names.push(decodeURIComponent(path.replace(/\/$/, "").split("/").pop()));
  }
  return names;
}
