/**
 * The core's policy and admission: who may do what (`policy.ts`, also a light public module for
 * doors that name their caller before the rest loads), admitting and settling a generation
 * against the limits, and the in-flight slot an upload waits in.
 *
 * @module
 */
export {
  authorize,
  LOCAL_PRINCIPAL,
  mayReadFiles,
  type Operation,
  permits,
  POLICY,
  type PolicyRole,
  type PolicyRow,
  type PolicySettings,
  policyTable,
  roleOf,
  type Scope,
  scopeOf,
} from "./policy.ts";
export {
  type Admission,
  type AdmissionDeps,
  type Admitted,
  createAdmission,
  type HeldInflight,
} from "./admission.ts";
export { HeldUpload } from "./upload_slot.ts";
