/**
 * The CLI's projection of the request field table: the flag of every field the `cli` door offers
 * (its `parseArgs` option, its help line) and the request a parsed command line stands for.
 *
 * @module
 */
import type { ParseArgsOptionsConfig } from "node:util";
import {
  doorFields,
  FIELD_NAMES,
  type FieldName,
  fieldSpec,
  type Operation,
  REQUEST_FIELDS,
} from "../generation/vocabulary.ts";

type Fields = typeof REQUEST_FIELDS;

/** The flag of a request field, e.g. `format` for `output_format`. */
export type RequestFlag = {
  [K in FieldName]: Fields[K] extends { readonly cli: { readonly flag: infer F extends string } }
    ? F
    : never;
}[FieldName];

/** Flags that are switches (take no value). */
export type RequestSwitch = {
  [K in FieldName]: Fields[K] extends {
    readonly cli: { readonly flag: infer F extends string; readonly negates: true };
  } ? F
    : never;
}[FieldName];

/** The `parseArgs` options of every request flag. */
export function requestFlagOptions(): ParseArgsOptionsConfig {
  const options: ParseArgsOptionsConfig = {};
  for (const name of FIELD_NAMES) {
    const cli = fieldSpec(name).cli;
    if (cli === undefined) continue;
    options[cli.flag] = {
      type: cli.negates ? "boolean" : "string",
      ...(cli.short === undefined ? {} : { short: cli.short }),
    };
  }
  return options;
}

/** A flag's help line: how it is written and what it does. */
export interface RequestFlagDoc {
  /** The long name. */
  readonly flag: string;
  /** How it is written, e.g. `-m, --model MODEL`. */
  readonly synopsis: string;
  /** What it does. */
  readonly text: string;
}

/** Help lines of the flags of `operation`, in table order, leaving out `positional` fields. */
export function requestFlagDocs(
  operation: Operation,
  positional: readonly FieldName[] = [],
): RequestFlagDoc[] {
  const docs: RequestFlagDoc[] = [];
  for (const name of doorFields("cli", operation)) {
    const spec = fieldSpec(name);
    if (spec.cli === undefined || positional.includes(name)) continue;
    const { flag, short, placeholder, help } = spec.cli;
    docs.push({
      flag,
      synopsis: `${short === undefined ? "" : `-${short}, `}--${flag}${
        placeholder === undefined ? "" : ` ${placeholder}`
      }`,
      text: help ?? spec.description,
    });
  }
  return docs;
}

/**
 * The request fields of `operation` a command line gives, from `read` (the flag's value, if
 * given): words (with the flag's aliases) and numbers as typed — the core checks them — and a
 * negating switch as false.
 */
export function requestFromFlags(
  operation: Operation,
  read: (flag: string) => string | boolean | undefined,
  readInteger: (flag: string) => number | undefined,
): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const name of doorFields("cli", operation)) {
    const spec = fieldSpec(name);
    if (spec.cli === undefined) continue;
    const value = read(spec.cli.flag);
    if (value === undefined || value === false) continue;
    if (spec.cli.negates) {
      input[name] = false;
    } else if (spec.type === "integer") {
      input[name] = readInteger(spec.cli.flag);
    } else if (typeof value === "string") {
      const aliases: Readonly<Record<string, string>> = spec.cli.aliases ?? {};
      input[name] = Object.hasOwn(aliases, value) ? aliases[value] : value;
    }
  }
  return input;
}
