/* porch listing page: filter, keyboard navigation, relative times, previews, share QR, and
   uploads with per-file progress. Served by porch at /-/static/listing.js as an ES module
   (each feature a module of its own beside it, imported here; no bundler): the page's CSP
   allows script from porch's own origin only, so nothing here is inline, and nothing here is
   needed: without it the table, sorting, links, downloads and the plain upload form all work.
   docs/webapp.md describes the behaviour and the modules. */

import { doc } from "./dom.js";
import { wireKeys } from "./keys.js";
import { wirePreview } from "./preview.js";
import { wireRows } from "./rows.js";
import { wireShare } from "./share.js";
import { wireUploads } from "./uploads.js";

doc.documentElement.classList.add("js");
wirePreview();
wireShare();
wireKeys();
wireUploads();
wireRows();
