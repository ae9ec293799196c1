/**
 * Resource types for IDs that an event names without a type (order items, InstanceId
 * parameters of the Expenses and Costs API). Consistent types matter: an instance bought on
 * the buy page (`ACS::ECS::Instance` in referencedResources) and the same instance renewed
 * through RenewInstance must be one resource.
 */
const BY_ID_PREFIX: ReadonlyArray<[prefix: string, type: string]> = [
  ["i-", "ACS::ECS::Instance"],
  ["d-", "ACS::ECS::Disk"],
  ["sg-", "ACS::ECS::SecurityGroup"],
  ["m-", "ACS::ECS::Image"],
  ["s-", "ACS::ECS::Snapshot"],
  ["eni-", "ACS::ECS::NetworkInterface"],
  ["rm-", "ACS::RDS::DBInstance"],
  ["pgm-", "ACS::RDS::DBInstance"],
  ["pc-", "ACS::PolarDB::DBCluster"],
  ["r-", "ACS::Redis::DBInstance"],
  ["dds-", "ACS::MongoDB::DBInstance"],
  ["lb-", "ACS::SLB::LoadBalancer"],
  ["alb-", "ACS::ALB::LoadBalancer"],
  ["nlb-", "ACS::NLB::LoadBalancer"],
  ["vpc-", "ACS::VPC::VPC"],
  ["vsw-", "ACS::VPC::VSwitch"],
  ["eip-", "ACS::VPC::EIP"],
  ["ngw-", "ACS::VPC::NatGateway"],
  ["cbwp-", "ACS::VPC::CommonBandwidthPackage"],
  ["cen-", "ACS::CEN::CenInstance"],
];

const BY_PRODUCT: Readonly<Record<string, string>> = {
  ecs: "ACS::ECS::Instance",
  disk: "ACS::ECS::Disk",
  rds: "ACS::RDS::DBInstance",
  polardb: "ACS::PolarDB::DBCluster",
  redisa: "ACS::Redis::DBInstance",
  kvstore: "ACS::Redis::DBInstance",
  dds: "ACS::MongoDB::DBInstance",
  slb: "ACS::SLB::LoadBalancer",
  oss: "ACS::OSS::Bucket",
  eip: "ACS::VPC::EIP",
  nat: "ACS::VPC::NatGateway",
  cdn: "ACS::CDN::Domain",
  sls: "ACS::SLS::Project",
  log: "ACS::SLS::Project",
};

/**
 * The type of a resource ID: from the same event's typed references first, then the ID's
 * well-known prefix, then the product (ProductCode, serviceName), else `ACS::<Product>::Instance`.
 */
export function inferResourceType(
  resourceId: string,
  knownTypes: ReadonlyMap<string, string>,
  product: string | null,
): string {
  const known = knownTypes.get(resourceId);
  if (known) return known;
  for (const [prefix, type] of BY_ID_PREFIX) {
    if (resourceId.startsWith(prefix)) return type;
  }
  if (product) {
    const key = product.toLowerCase();
    return BY_PRODUCT[key] ?? `ACS::${product.toUpperCase()}::Instance`;
  }
  return "ACS::Unknown::Instance";
}
