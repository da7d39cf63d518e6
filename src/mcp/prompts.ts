/**
 * Prompt templates: they only build messages that ask the model to call `generate_image` with a
 * well-formed prompt; they never call anything themselves.
 *
 * @module
 */
import { z } from "zod";
import { iconList, PROMPT_PRESENTATION } from "./presentation.ts";
import type { GetPromptResult, McpServer } from "./sdk.ts";

function ask(text: string): GetPromptResult {
  return { messages: [{ role: "user", content: { type: "text", text } }] };
}

/** Registers the prompt templates on `server`. */
export function registerPrompts(server: McpServer): void {
  server.registerPrompt(
    "app_icon",
    {
      title: PROMPT_PRESENTATION.app_icon.title,
      icons: iconList(PROMPT_PRESENTATION.app_icon.icons),
      description: "A square app icon for a product, on a transparent background.",
      argsSchema: z.object({
        subject: z.string().describe("What the app is or does, e.g. 'a budgeting app'."),
        style: z.string().optional().describe(
          "Visual style, e.g. 'flat', 'glossy 3D', 'line art'.",
        ),
      }),
    },
    ({ subject, style }) =>
      ask(
        `Use the generate_image tool to create an app icon for ${subject}. Write a detailed prompt: ` +
          `one bold, simple symbol centred with generous padding, ${
            style ?? "modern flat"
          } style, ` +
          `a limited palette, no text, readable at 32 px. Call it with size "1024x1024", ` +
          `background "transparent" and output_format "png". Then show me the result and suggest ` +
          `one variation.`,
      ),
  );
  server.registerPrompt(
    "product_photo",
    {
      title: PROMPT_PRESENTATION.product_photo.title,
      icons: iconList(PROMPT_PRESENTATION.product_photo.icons),
      description: "A studio-quality product photograph.",
      argsSchema: z.object({
        product: z.string().describe("The product, with material and colour."),
        setting: z.string().optional().describe(
          "Scene, e.g. 'white seamless backdrop', 'kitchen counter'.",
        ),
      }),
    },
    ({ product, setting }) =>
      ask(
        `Use the generate_image tool to create a professional product photo of ${product} in ` +
          `${
            setting ?? "a clean studio on a white seamless backdrop"
          }. In the prompt describe camera ` +
          `angle, soft key light with a subtle reflection, shallow depth of field and realistic ` +
          `materials. Use size "1536x1024" and quality "high".`,
      ),
  );
  server.registerPrompt(
    "illustration",
    {
      title: PROMPT_PRESENTATION.illustration.title,
      icons: iconList(PROMPT_PRESENTATION.illustration.icons),
      description: "An editorial illustration for an article or slide.",
      argsSchema: z.object({
        subject: z.string().describe("What the illustration shows or explains."),
        mood: z.string().optional().describe("Mood or palette, e.g. 'warm and optimistic'."),
      }),
    },
    ({ subject, mood }) =>
      ask(
        `Use the generate_image tool to create an editorial illustration of ${subject}, ` +
          `${
            mood ?? "friendly and clear"
          }, with a coherent limited palette and simple shapes that ` +
          `read at small sizes; avoid text in the image. Use size "1536x1024".`,
      ),
  );
}
