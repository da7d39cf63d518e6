/**
 * The gallery form's projection of the request field table: which fields the generate form
 * offers, their labels, and the request a submitted form stands for.
 *
 * @module
 */
import { ValidationError } from "../../errors.ts";
import { doorFields, type FieldName, fieldSpec } from "../../generation/vocabulary.ts";
import { FORM_MAX_IMAGES } from "./model_options.ts";

/** The form's label of `name` (its field name when the table gives none). */
export function formLabel(name: FieldName): string {
  return fieldSpec(name).label ?? name;
}

/** A form field's text, trimmed ("" when absent). */
export function formText(form: Readonly<Record<string, string>>, name: string): string {
  return (form[name] ?? "").trim();
}

/**
 * The generation request a submitted form stands for. Empty fields are left out; numbers are
 * brought into their range (the selects offer only valid ones, a crafted post gets the nearest);
 * a free-form size wins over the listed one.
 */
export function formRequest(form: Readonly<Record<string, string>>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const name of doorFields("form", "generate")) {
    const spec = fieldSpec(name);
    const text = name === "size"
      ? formText(form, "size_custom") || formText(form, "size")
      : formText(form, name);
    if (spec.type === "integer") {
      if (!/^\d{1,2}$/.test(text)) continue;
      const max = name === "n" ? Math.min(spec.max, FORM_MAX_IMAGES) : spec.max;
      input[name] = Math.min(Math.max(Number(text), spec.min), max);
    } else if (text !== "" || spec.required) {
      input[name] = text;
    }
  }
  if (input.prompt === "") {
    throw new ValidationError("prompt", "Enter a prompt: describe the image you want");
  }
  return input;
}
