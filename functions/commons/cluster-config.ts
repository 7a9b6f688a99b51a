/**
 * The configuration of an Aurora DB cluster and of its member instances, as captured in preflight
 * and compared in validation. Filled in by the cluster path.
 */
export interface ClusterConfig {
  engine: string;
  engineVersion: string | null;
  engineMode: string | null;
  [field: string]: unknown;
}

export interface MemberConfig {
  dbInstanceClass: string;
  [field: string]: unknown;
}
