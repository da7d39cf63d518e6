/**
 * A small strict parser of the Prometheus text exposition format (0.0.4) for tests: it throws on
 * anything Prometheus itself would reject (bad names, escapes, values, duplicate series, samples
 * outside their family, histograms without real cumulative buckets ending in `+Inf`).
 *
 * @module
 */
import assert from "node:assert/strict";

/** Metric types of the format. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its metadata and samples. */
export interface Family {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Go's strconv.ParseFloat, which Prometheus uses: NaN and Inf in any case (prom-client writes `Nan`).
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;

function parseValue(text: string, line: number): number {
  if (!FLOAT.test(text)) throw new SyntaxError(`line ${line}: bad value ${JSON.stringify(text)}`);
  if (/inf/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (/nan/i.test(text)) return NaN;
  return Number(text);
}

function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new SyntaxError(`line ${line}: bad escape in HELP`);
  });
}

function parseSampleLine(text: string, line: number): Sample {
  let i = 0;
  while (i < text.length && /[a-zA-Z0-9_:]/.test(text[i])) i++;
  const name = text.slice(0, i);
  if (!METRIC_NAME.test(name)) throw new SyntaxError(`line ${line}: bad metric name`);
  const labels: Record<string, string> = {};
  if (text[i] === "{") {
    i++;
    while (text[i] !== "}") {
      const start = i;
      while (i < text.length && /[a-zA-Z0-9_]/.test(text[i])) i++;
      const label = text.slice(start, i);
      if (!LABEL_NAME.test(label) || label.startsWith("__")) {
        throw new SyntaxError(`line ${line}: bad label name ${JSON.stringify(label)}`);
      }
      if (label in labels) throw new SyntaxError(`line ${line}: duplicate label ${label}`);
      if (text[i++] !== "=" || text[i++] !== '"') {
        throw new SyntaxError(`line ${line}: expected ="`);
      }
      let value = "";
      for (;;) {
        const c = text[i++];
        if (c === undefined) throw new SyntaxError(`line ${line}: unterminated label value`);
        if (c === '"') break;
        if (c === "\\") {
          const e = text[i++];
          if (e === "\\") value += "\\";
          else if (e === '"') value += '"';
          else if (e === "n") value += "\n";
          else throw new SyntaxError(`line ${line}: bad escape \\${e}`);
        } else value += c;
      }
      labels[label] = value;
      if (text[i] === ",") i++;
      else if (text[i] !== "}") throw new SyntaxError(`line ${line}: expected , or }`);
    }
    i++;
  }
  if (text[i] !== " ") throw new SyntaxError(`line ${line}: expected a space before the value`);
  const rest = text.slice(i + 1).split(" ");
  if (rest.length > 2) throw new SyntaxError(`line ${line}: trailing text`);
  if (rest.length === 2 && !/^-?\d+$/.test(rest[1])) {
    throw new SyntaxError(`line ${line}: bad timestamp`);
  }
  return { name, labels, value: parseValue(rest[0], line) };
}

/** The family a sample name belongs to (`x_bucket` → histogram `x`), if any. */
export function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  if (families.has(sample)) return families.get(sample);
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sample.endsWith(suffix)) continue;
    const family = families.get(sample.slice(0, -suffix.length));
    if (family?.type === "histogram" || (family?.type === "summary" && suffix !== "_bucket")) {
      return family;
    }
  }
  return undefined;
}

/** Parses exposition text strictly; throws on anything the format does not allow. */
export function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "output ends with a newline");
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  const closed = new Set<string>();
  let current: Family | undefined;
  text.slice(0, -1).split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (raw === "") return;
    if (raw.startsWith("#")) {
      const match = /^# (HELP|TYPE) ([^ ]+)(?: (.*))?$/.exec(raw);
      if (match === null) return; // a plain comment
      const [, keyword, name, rest = ""] = match;
      if (!METRIC_NAME.test(name)) throw new SyntaxError(`line ${line}: bad name ${name}`);
      if (closed.has(name)) throw new SyntaxError(`line ${line}: ${name} metadata after samples`);
      let family = families.get(name);
      if (family === undefined) {
        family = { name, type: "untyped", samples: [] };
        families.set(name, family);
      }
      if (current !== undefined && current !== family) closed.add(current.name);
      current = family;
      if (keyword === "HELP") {
        if (family.help !== undefined) throw new SyntaxError(`line ${line}: second HELP`);
        family.help = unescapeHelp(rest, line);
      } else {
        if (family.samples.length > 0) throw new SyntaxError(`line ${line}: TYPE after samples`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) {
          throw new SyntaxError(`line ${line}: bad type ${rest}`);
        }
        family.type = rest as MetricType;
      }
      return;
    }
    const sample = parseSampleLine(raw, line);
    const family = familyOf(sample.name, families);
    if (family === undefined) throw new SyntaxError(`line ${line}: ${sample.name} has no TYPE`);
    if (family !== current) throw new SyntaxError(`line ${line}: ${family.name} is not contiguous`);
    const series = sample.name + JSON.stringify(Object.entries(sample.labels).sort());
    if (seenSeries.has(series)) throw new SyntaxError(`line ${line}: duplicate series`);
    seenSeries.add(series);
    if (family.type === "counter" && !(sample.value >= 0)) {
      throw new SyntaxError(`line ${line}: negative counter`);
    }
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      assert.ok(le !== undefined, `${family.name}: bucket without le`);
      group.buckets.push([parseValue(le, 0), sample.value]);
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else if (sample.name === `${family.name}_sum`) group.sum = sample.value;
  }
  for (const group of groups.values()) {
    assert.ok(group.buckets.length > 1, `${family.name} has real buckets`);
    for (let i = 1; i < group.buckets.length; i++) {
      assert.ok(group.buckets[i][0] > group.buckets[i - 1][0], `${family.name}: le increases`);
      assert.ok(group.buckets[i][1] >= group.buckets[i - 1][1], `${family.name}: cumulative`);
    }
    const last = group.buckets[group.buckets.length - 1];
    assert.equal(last[0], Infinity, `${family.name}: +Inf bucket`);
    assert.equal(last[1], group.count, `${family.name}: +Inf bucket equals _count`);
    assert.notEqual(group.sum, undefined, `${family.name}: _sum`);
  }
}

/** The value of the first sample named `name` with `labels` (a subset), if any. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
) {
  const family = familyOf(name, families);
  const sample = family?.samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  return sample?.value;
}
