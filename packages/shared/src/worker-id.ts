/** Longest worker id accepted anywhere (config, lease requests, heartbeats, reports). */
export const WORKER_ID_MAX = 128;

/** Printable ASCII without spaces: ids show in logs, metrics and terminals. */
const WORKER_ID = /^[\x21-\x7e]+$/;

export function isValidWorkerId(id: string): boolean {
  return id.length > 0 && id.length <= WORKER_ID_MAX && WORKER_ID.test(id);
}
