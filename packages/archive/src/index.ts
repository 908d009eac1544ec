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
export { toSurt } from "./surt.js";
export { WACZ_VERSION, type WaczOptions, type WaczSummary, writeWacz } from "./wacz.js";
