import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type { MessageTypeDefinition, PackageDefinition } from "@grpc/proto-loader";
import { ConfigError, errorMessage } from "@heed/shared";

/**
 * Requests the generated decoder refuses (a uint64 past 2^53, which JavaScript
 * numbers cannot hold) would otherwise fail inside gRPC as INTERNAL
 * "Request message serialization failure", before any handler could say what
 * was wrong. Decoding is guarded instead: such a request reaches the handler
 * as a marker carrying a field error (`undecodable`), answered INVALID_ARGUMENT.
 */

const UNDECODABLE = Symbol("undecodable");

interface Undecodable {
  [UNDECODABLE]: ConfigError;
}

/** The field error of a request that could not be decoded, if it could not. */
export function undecodable(request: unknown): ConfigError | undefined {
  return typeof request === "object" && request !== null && UNDECODABLE in request
    ? (request as Undecodable)[UNDECODABLE]
    : undefined;
}

export function decodeGuarded<S extends ServiceDefinition>(service: S, definitions: PackageDefinition): S {
  const guarded: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service as ServiceDefinition)) {
    const messageName = requestTypeName(definitions, method.path);
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          const found =
            messageName !== undefined ? unsafeField(definitions, messageName, bytes, "") : undefined;
          const marker: Undecodable = {
            [UNDECODABLE]:
              found !== undefined
                ? new ConfigError(found, "out of range: at most 9007199254740991 (2^53 - 1)")
                : new ConfigError("request", `not a valid message: ${errorMessage(err)}`),
          };
          return marker;
        }
      },
    };
  }
  return guarded as unknown as S;
}

function requestTypeName(definitions: PackageDefinition, path: string): string | undefined {
  const [, serviceName, methodName] = path.split("/");
  const service = definitions[serviceName ?? ""] as Record<string, { requestType?: MessageTypeDefinition }>;
  const type = service?.[methodName ?? ""]?.requestType?.type as { name?: string } | undefined;
  if (type?.name === undefined) return undefined;
  const pkg = (serviceName ?? "").split(".").slice(0, -1).join(".");
  return `${pkg}.${type.name}`;
}

interface FieldDescriptor {
  name: string;
  number: number;
  type: string;
  typeName: string;
  label: string;
}

const WIDE_INTEGERS = new Set(["TYPE_UINT64", "TYPE_INT64", "TYPE_SINT64", "TYPE_FIXED64", "TYPE_SFIXED64"]);

function messageFields(definitions: PackageDefinition, name: string): FieldDescriptor[] | undefined {
  const def = definitions[name] as MessageTypeDefinition | undefined;
  return (def?.type as { field?: FieldDescriptor[] } | undefined)?.field;
}

/** The path (proto spelling, `definition.politeness.min_delay_ms`) of the first integer a number cannot hold. */
function unsafeField(
  definitions: PackageDefinition,
  messageName: string,
  bytes: Uint8Array,
  prefix: string,
): string | undefined {
  const fields = messageFields(definitions, messageName);
  if (fields === undefined) return undefined;
  const pkg = messageName.split(".").slice(0, -1).join(".");
  const seen = new Map<number, number>();
  const reader = new BinaryReader(bytes);
  try {
    while (reader.pos < reader.len) {
      const [no, wireType] = reader.tag();
      const field = fields.find((f) => f.number === no);
      const index = seen.get(no) ?? 0;
      seen.set(no, index + 1);
      const path =
        field === undefined
          ? undefined
          : `${prefix}${field.name}${field.label === "LABEL_REPEATED" ? `[${index}]` : ""}`;
      if (field !== undefined && WIDE_INTEGERS.has(field.type)) {
        const values =
          wireType === WireType.LengthDelimited
            ? packed(reader, field.type)
            : [wideValue(reader, field.type)];
        if (values.some((v) => v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)))
          return path;
      } else if (field?.type === "TYPE_MESSAGE" && wireType === WireType.LengthDelimited) {
        const nested = field.typeName.includes(".") ? field.typeName : `${pkg}.${field.typeName}`;
        const found = unsafeField(definitions, nested, reader.bytes(), `${path}.`);
        if (found !== undefined) return found;
      } else {
        reader.skip(wireType, no);
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function wideValue(reader: BinaryReader, type: string): bigint {
  switch (type) {
    case "TYPE_UINT64":
      return BigInt(reader.uint64());
    case "TYPE_SINT64":
      return BigInt(reader.sint64());
    case "TYPE_FIXED64":
      return BigInt(reader.fixed64());
    case "TYPE_SFIXED64":
      return BigInt(reader.sfixed64());
    default:
      return BigInt(reader.int64());
  }
}

function packed(reader: BinaryReader, type: string): bigint[] {
  const end = reader.uint32() + reader.pos;
  const out: bigint[] = [];
  while (reader.pos < end) out.push(wideValue(reader, type));
  return out;
}
