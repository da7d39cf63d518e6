/**
 * The generation engine: model registry, request schema and normalization, the OpenAI client
 * wrapper, pricing, the generator (a generation as a job), cancels across instances and instance
 * heartbeats. The public module of `src/generation/`; its request vocabulary (`vocabulary.ts`) is
 * also a light public module of its own, for doors that must not load the engine yet.
 *
 * @module
 */
export {
  checkSize,
  createModelRegistry,
  type CreateRegistryOptions,
  type EditData,
  type Lifecycle,
  lifecycleOf,
  loadModelRegistry,
  type LoadRegistryOptions,
  type ModelData,
  ModelDataSchema,
  type ModelDefaults,
  type ModelInfo,
  ModelRegistry,
  type ModelsFile,
  type ModelStatus,
  parseSize,
  type PriceData,
  type SizeCheck,
  type SizeRuleData,
  type TokenPriceData,
  translateSize,
  validateModelDefaults,
} from "./models.ts";
export { LEGACY_QUALITY_MAP, MODEL_ALIASES, MODEL_DATA } from "./model_data.ts";
export {
  type EditNormalization,
  type EditRequestInput,
  EditRequestSchema,
  type GenerateNormalization,
  type GenerateRequestInput,
  GenerateRequestSchema,
  type NormalizeContext,
  type NormalizedEditRequest,
  type NormalizedGenerateRequest,
  normalizeEditRequest,
  normalizeGenerateRequest,
  type UpstreamImageBody,
} from "./request.ts";
export {
  createImageClient,
  type EditCallOptions,
  editImages,
  type EditInput,
  type FetchLike,
  type GeneratedImage,
  generateImages,
  type ImageCallOptions,
  type ImageClient,
  type ImageClientConfig,
  type ImageClientOptions,
  type ImageResult,
  mapUpstreamError,
  type PartialImage,
  type UpstreamCall,
  type UpstreamErrorContext,
} from "./openai.ts";
export {
  type CostEstimate,
  type CostInput,
  estimateCost,
  type ImageUsage,
  isFullyPriced,
} from "./pricing.ts";
export {
  Generator,
  type GeneratorDeps,
  type PreparedInputs,
  type ResolveInput,
  type ResolveUpload,
  type UpstreamWatch,
} from "./generator.ts";
export { CancelWatch, LOCAL_CANCEL_POLL_MS, requestCancel } from "./cancels.ts";
export { Instance, type InstanceOptions } from "./instances.ts";
export { type PriceCeiling, priceCeiling, quoteRequest } from "./price_ceiling.ts";
export {
  CheckedFields,
  coreInputOf,
  coreRequestSchema,
  type Door,
  doorFields,
  doorRequestSchema,
  FIELD_NAMES,
  type FieldName,
  type FieldSpec,
  fieldSpec,
  isFieldName,
  type KeyVariable,
  missingKeyHint,
  multipartRequestSchema,
  type Operation,
  REQUEST_FIELDS,
} from "./vocabulary.ts";
