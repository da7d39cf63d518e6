/**
 * The generation engine: model registry, request schema and normalization, the OpenAI client
 * wrapper and pricing. Doors and the generator import from here.
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
