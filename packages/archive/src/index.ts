export { type CaptureStorage, type CaptureStorageOptions, startCaptureStorage } from "./capture-storage.js";
export {
  type CdxjEntry,
  compareCdxjLines,
  formatCdxjLine,
  indexWarc,
  parseCdxjLine,
  writeCdxjBeside,
} from "./cdxj.js";
export { writeFileAtomically } from "./file-output.js";
export { mergeCdxj } from "./merge.js";
export {
  CDXJ_SUFFIX,
  cdxjPathFor,
  closedWarcFiles,
  isClosedWarc,
  OPEN_SUFFIX,
  WARC_SUFFIX,
} from "./names.js";
export {
  createS3Client,
  type S3Client,
  type S3Settings,
  type StoredObject,
  StoreError,
} from "./s3/client.js";
export { s3SettingsFrom } from "./s3/settings.js";
export { isUploadable, startUploader, type Uploader, type UploaderStatus } from "./s3/uploader.js";
export { toSurt } from "./surt.js";
export { WACZ_VERSION, type WaczOptions, type WaczSummary, writeWacz } from "./wacz.js";
