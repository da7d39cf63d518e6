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
    reserveUpload: async (caller) => (await get()).reserveUpload(caller),
    get: async (id, caller) => (await get()).get(id, caller),
    read: async (id, caller) => (await get()).read(id, caller),
    view: async (id, caller, limits) => (await get()).view(id, caller, limits),
    thumbnail: async (id, caller) => (await get()).thumbnail(id, caller),
    list: async (caller, options) => (await get()).list(caller, options),
    delete: async (id, caller) => (await get()).delete(id, caller),
    lookup: async (id, caller, options) => (await get()).lookup(id, caller, options),
    cancel: async (id, caller) => (await get()).cancel(id, caller),
    allowance: async (caller) => (await get()).allowance(caller),
    models: async () => (await get()).models(),
    now,
  };
}
