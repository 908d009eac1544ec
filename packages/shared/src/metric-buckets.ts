/** Histogram buckets both services use, so a coordinator's and a worker's views of one fetch line up. */
export const FETCH_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
export const BODY_BYTES_BUCKETS = [1024, 10_240, 102_400, 1_048_576, 10_485_760, 104_857_600];
