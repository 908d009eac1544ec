export {
  decidePurposes,
  hasPreferencePurposes,
  type PreferenceSignal,
  PURPOSE_CATEGORY,
  type PurposeDecision,
  pageReadings,
  type SignalReading,
  TDM_RESERVED,
} from "./decide.js";
export { type RobotsUsage, robotsContentUsage } from "./robots-rules.js";
export { parsePreferences, USAGE_CATEGORIES, type UsageCategory, type UsagePreferences } from "./vocab.js";
