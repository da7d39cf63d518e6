/**
 * An {@link ImageService} that builds the real one on first use, so a door can answer its
 * handshake before KV, the store, the OpenAI SDK and the codecs are loaded.
 *
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";
import type { ImageService } from "./core_types.ts";

/**
 * Wraps `load` (called at most once, retried after a failure) as an ImageService whose clock is
 * `now` until the real service exists.
 */
export function lazyImageService(
  load: () => Promise<ImageService>,
  now: Clock = systemClock,
): ImageService {
  let pending: Promise<ImageService> | undefined;
  const get = () => {
    pending ??= load().catch((error) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
  return {
    validate: async (operation, input) => (await get()).validate(operation, input),
    generate: async (input, options) => (await get()).generate(input, options),
    edit: async (input, options) => (await get()).edit(input, options),
    get: async (id) => (await get()).get(id),
    read: async (id) => (await get()).read(id),
    view: async (id, limits) => (await get()).view(id, limits),
    thumbnail: async (id) => (await get()).thumbnail(id),
    list: async (options) => (await get()).list(options),
    delete: async (id) => (await get()).delete(id),
    lookup: async (id, options) => (await get()).lookup(id, options),
    cancel: async (id) => (await get()).cancel(id),
    models: async () => (await get()).models(),
    now,
  };
}
