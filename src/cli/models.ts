/**
 * `models`: the model registry (built-in table plus `MODELS_FILE`) with each model's lifecycle on
 * today's date, what it accepts and what it costs.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { printJson, renderTable } from "./output.ts";

/** `models`. */
export const modelsCommand: Command = {
  path: ["models"],
  args: "",
  summary: "Known models with lifecycle status (current, shutdown announced, retired)",
  details: "Retired models are handled as LEGACY_MODELS says (translate, reject or passthrough). " +
    "`config check --live` shows which models your key can use.",
  options: [],
  positionals: { min: 0, max: 0 },
  async run(session) {
    const services = await session.services();
    const models = await services.images.models();
    if (session.json) {
      printJson(session.io, { models });
      return 0;
    }
    session.io.out(renderTable(
      ["MODEL", "STATUS", "EDITS", "QUALITIES", "SIZES", "PRICE", "LIFECYCLE"],
      models.map((m) => [
        m.id,
        m.status,
        m.edits ? "yes" : "no",
        m.qualities.join(","),
        m.sizes,
        m.price,
        m.lifecycle,
      ]),
    ));
    return 0;
  },
};
