// tus-js-client in Node against a running porch, for tests/e2e/test_resumable.py.
// Usage: node client.mjs MODE ENDPOINT FILE NAME [PROTOCOL] [CHUNK]
//   resume     upload two chunks, stop, then a new Upload finds it by fingerprint and finishes
//   terminate  upload one chunk, then abort(true): tus termination (DELETE)
//   parallel   four parallel partial uploads joined by tus concatenation
// Prints one JSON line with what happened; exits 1 on any error.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FileUrlStorage, Upload } from 'tus-js-client'

const [mode, endpoint, file, name, protocol = 'tus-v1', chunkText = '262144'] =
  process.argv.slice(2)
const chunkSize = Number(chunkText)
const size = fs.statSync(file).size
const storagePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tus-node-')), 'urls.json')

function options(extra) {
  return {
    endpoint,
    protocol,
    chunkSize,
    uploadSize: size,
    metadata: { filename: name },
    retryDelays: [0, 200, 500],
    urlStorage: new FileUrlStorage(storagePath),
    ...extra,
  }
}

function run(build) {
  return new Promise((resolve, reject) => {
    const upload = build(resolve, reject)
    upload.start()
  })
}

async function resume() {
  let pausedAt = -1
  await run((resolve, reject) => {
    const upload = new Upload(
      fs.readFileSync(file),
      options({
        onError: reject,
        onSuccess: () => reject(new Error('finished before the pause')),
        onChunkComplete: (_chunk, accepted) => {
          if (accepted >= 2 * chunkSize && pausedAt < 0) {
            pausedAt = accepted
            upload.abort(false).then(resolve, reject)
          }
        },
      }),
    )
    return upload
  })
  let resumedFrom = -1
  await new Promise((resolve, reject) => {
    const upload = new Upload(
      fs.readFileSync(file),
      options({
        onError: reject,
        onSuccess: resolve,
        onProgress: (sent) => {
          if (resumedFrom < 0) resumedFrom = sent
        },
      }),
    )
    upload.findPreviousUploads().then((previous) => {
      if (previous.length !== 1) {
        reject(new Error(`expected one previous upload, found ${previous.length}`))
        return
      }
      upload.resumeFromPreviousUpload(previous[0])
      upload.start()
    }, reject)
  })
  return { pausedAt, resumedFrom }
}

async function terminate() {
  let url = null
  await run((resolve, reject) => {
    const upload = new Upload(
      fs.readFileSync(file),
      options({
        onError: reject,
        onSuccess: () => reject(new Error('finished before the termination')),
        onChunkComplete: () => {
          if (url === null) {
            url = upload.url
            upload.abort(true).then(resolve, reject)
          }
        },
      }),
    )
    return upload
  })
  return { url, terminated: true }
}

async function parallel() {
  let parts = 0
  await run((resolve, reject) => {
    const upload = new Upload(
      fs.readFileSync(file),
      options({
        parallelUploads: 4,
        uploadSize: undefined,
        onError: reject,
        onSuccess: () => {
          parts = upload._parallelUploadUrls.length
          resolve()
        },
      }),
    )
    return upload
  })
  return { parts }
}

const modes = { resume, terminate, parallel }
modes[mode]().then(
  (result) => {
    console.log(JSON.stringify(result))
  },
  (error) => {
    console.error(String(error && error.stack ? error.stack : error))
    process.exit(1)
  },
)
