/* porch page: resumable uploads. A file larger than one CHUNK goes up with tus (tus-js-client,
   vendored at /-/static/tus.min.js and loaded the first time a large file is picked) in
   pieces of CHUNK bytes, so a proxy with a 10 MiB body cap lets it through. A dropped
   connection or a restarted server costs at most the piece in flight: the client asks the
   server where it stands and goes on, retrying with backoff. The upload's URL is kept in
   localStorage under the file's fingerprint (name, type, size, modification time and this
   folder), so picking the same file again after a reload resumes it instead of starting over.
   Progress is what the server has plus what is in flight; after a retry it moves back to what
   the server really has. docs/uploads.md describes the protocol; docs/webapp.md the page. */

import { doc } from "./dom.js";
import { errorText, registerSender } from "./uploads.js";

const CHUNK = 8 * 1024 * 1024;
// Seconds between attempts after a failure: quick at first, then every 30 s for ~5 minutes.
const RETRY_DELAYS = [0, 1, 2, 4, 8, 15, 30, 30, 30, 30, 30, 30, 30, 30, 30].map((s) => s * 1000);

let loading = null;

/** window.tus, loading the vendored script on first use (same origin: the page's CSP). */
function loadTus() {
  if (window.tus) return Promise.resolve(window.tus);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = doc.createElement("script");
      script.src = doc.body.dataset.mount + "/-/static/tus.min.js";
      script.addEventListener("load", () => resolve(window.tus));
      script.addEventListener("error", () => {
        loading = null;
        script.remove();
        reject(new Error("the resumable-upload script could not be loaded"));
      });
      doc.head.append(script);
    });
  }
  return loading;
}

/** Whether a failed request is worth another try: not when the server refused the upload
    itself (a taken name, a size limit, a forbidden folder), yes for the network, 5xx, 409 on a
    resumed append (a stale offset: ask again) and 423 (another request still writing). */
function shouldRetry(upload, error) {
  const response = error.originalResponse;
  if (!response) return true;
  const status = response.getStatus();
  if (status === 423) return true;
  if (status === 409) return Boolean(upload.url) && !/exists|name/i.test(response.getBody() || "");
  return status >= 500 && status !== 507;
}

function failure(error) {
  const response = error.originalResponse;
  if (!response) return "The connection failed and did not come back.";
  return errorText(response.getStatus(), "", response.getBody());
}

function sendResumable(task) {
  const { file } = task;
  loadTus().then(
    (tus) => {
      const upload = new tus.Upload(file, {
        endpoint: location.pathname, // this folder: where the upload form posts too
        chunkSize: CHUNK,
        retryDelays: RETRY_DELAYS,
        metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
        headers: { Accept: "application/json" },
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        onShouldRetry: (error) => shouldRetry(upload, error),
        // tus-js-client takes any failed HEAD for a lost upload and starts a new one; a 5xx
        // (a proxy whose upstream is restarting: 502) only means "not now": retry instead.
        onAfterResponse: (request, response) => {
          if (request.getMethod() === "HEAD" && response.getStatus() >= 500) {
            throw new Error(`HEAD answered ${response.getStatus()}`);
          }
        },
        onProgress: (sent, total) => task.progress(sent, total),
        onSuccess: () => task.done(),
        onError: (error) => task.fail(failure(error)),
      });
      upload.findPreviousUploads().then(
        (previous) => {
          if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
          upload.start();
        },
        () => upload.start(),
      );
    },
    (error) => task.fail(String(error.message || error)),
  );
}

/** Files larger than one chunk go resumably; smaller ones fit any proxy in one request. */
export function wireResumable() {
  if (!doc.getElementById("dropzone")) return;
  registerSender((file) => file.size > CHUNK, sendResumable);
}
