/**
 * S3 multipart uploads in flight in this process, each with how to abort it. An upload interrupted
 * (Ctrl-C) leaves the parts it stored in the bucket, invisible to listings and billed until a
 * lifecycle rule removes them; its abort removes them. Kept apart from the S3 store so the CLI's
 * signal handler can call it without loading the AWS SDK.
 */
const inFlight = new Set<() => Promise<void>>();

/** Registers an upload's abort; returns what unregisters it (once the upload is done or failed). */
export function trackUpload(abort: () => Promise<void>): () => void {
  inFlight.add(abort);
  return () => inFlight.delete(abort);
}

/** Aborts the uploads in flight, waiting at most `timeoutMs` for the server (the process exits next). */
export async function abortUploads(timeoutMs: number): Promise<void> {
  const aborts = [...inFlight];
  inFlight.clear();
  if (aborts.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  try {
    await Promise.race([Promise.allSettled(aborts.map((abort) => abort())), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
