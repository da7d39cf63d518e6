/**
 * The core's policy and admission: who may do what (`policy.ts`, also a light public module for
 * doors that name their caller before the rest loads), admitting and settling a generation
 * against the limits, the in-flight slot an upload waits in, and the connected apps (OAuth grants)
 * a caller may see and revoke.
 *
 * @module
 */
export {
  authorize,
  authorizeGrantRevocation,
  type GrantOwner,
  grantScopeOf,
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
export { Semaphore } from "./semaphore.ts";
export { listGrantsAs, type ListGrantsAsOptions, revokeGrantAs } from "./grants.ts";
