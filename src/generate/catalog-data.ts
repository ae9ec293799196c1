/**
 * Static data for the synthetic event generator: regions, products and the article
 * configurations their buy pages record, identities' names and tools, error codes.
 * Shapes follow samples/events.json and ActionTrail's documented event structure.
 */
import type { Random } from "./random";

export interface Region {
  id: string;
  /** The two characters after the prefix of resource IDs made there (`i-bp...` in cn-hangzhou). */
  code: string;
  zones: string[];
  weight: number;
  /** International site: its Expenses and Costs calls go to ap-southeast-1. */
  intl: boolean;
}

const region = (id: string, code: string, zoneLetters: string, weight: number, intl = false): Region => ({
  id,
  code,
  // cn-hangzhou-h, but ap-southeast-1a.
  zones: [...zoneLetters].map((letter) => (/\d$/.test(id) ? `${id}${letter}` : `${id}-${letter}`)),
  weight,
  intl,
});

export const REGIONS: readonly Region[] = [
  region("cn-hangzhou", "bp", "hijk", 34),
  region("cn-shanghai", "uf", "efgl", 20),
  region("cn-beijing", "2z", "ghik", 17),
  region("cn-shenzhen", "wz", "def", 10),
  region("cn-zhangjiakou", "8v", "abc", 4),
  region("cn-hongkong", "j6", "bcd", 4),
  region("ap-southeast-1", "t4", "abc", 6, true),
  region("eu-central-1", "gw", "ab", 3, true),
  region("us-west-1", "rj", "ab", 2, true),
];

export type Config = Record<string, string | number>;

export interface Product {
  key: string;
  serviceName: string;
  eventSource: string;
  /** ProductCode in the Expenses and Costs API. */
  productCode: string;
  resourceType: string;
  weight: number;
  newId(rng: Random, region: Region): string;
  /**
   * The article configuration of an instance: `stable` draws what never changes (engine,
   * image, network), `size` what a Modify changes (class, storage, bandwidth).
   */
  config(stable: Random, size: Random, region: Region, zone: string): Config;
  /** Request parameters for CreateInstance / ModifyInstance (`Parameter.N.Code/Value`). */
  parameters(config: Config): Array<[string, string | number]>;
  /** A rough monthly price, for order details. */
  monthlyPrice(config: Config): number;
}

const ECS_FAMILIES: ReadonlyArray<[family: string, generation: string, ramPerCpu: number]> = [
  ["ecs.g7", "ecs-5", 4],
  ["ecs.g6e", "ecs-5", 4],
  ["ecs.c7", "ecs-5", 2],
  ["ecs.r7", "ecs-5", 8],
  ["ecs.g8i", "ecs-6", 4],
  ["ecs.c6", "ecs-4", 2],
  ["ecs.g6", "ecs-4", 4],
  ["ecs.t6-c1m2", "ecs-3", 2],
];
const ECS_SIZES: ReadonlyArray<[size: string, cpu: number]> = [
  ["large", 2],
  ["xlarge", 4],
  ["2xlarge", 8],
  ["4xlarge", 16],
  ["8xlarge", 32],
];
const ECS_IMAGES = [
  "linux,64,aliyun_3_x64_20G_alibase_20250117.vhd",
  "linux,64,centos_7_9_x64_20G_alibase_20240628.vhd",
  "linux,64,ubuntu_22_04_x64_20G_alibase_20241218.vhd",
  "linux,64,debian_12_6_x64_20G_alibase_20240823.vhd",
  "linux,64,rockylinux_9_4_x64_20G_alibase_20240709.vhd",
  "windows,64,win2022_21H2_x64_dtc_zh-cn_40G_alibase_20241211.vhd",
];
const ECS_DISKS: ReadonlyArray<[category: string, level: string]> = [
  ["cloud_essd", "PL0"],
  ["cloud_essd", "PL1"],
  ["cloud_auto", ""],
  ["cloud_efficiency", ""],
];

export const PRODUCTS: readonly Product[] = [
  {
    key: "ecs",
    serviceName: "Ecs",
    eventSource: "ecs.aliyuncs.com",
    productCode: "ecs",
    resourceType: "ACS::ECS::Instance",
    weight: 40,
    newId: (rng, r) => `i-${r.code}${rng.lowerAlnum(18)}`,
    config(stable, size, r, zone) {
      const [family, generation, ramPerCpu] = stable.skewedPick(ECS_FAMILIES, 1.6);
      const [sizeName, cpu] = size.skewedPick(ECS_SIZES, 2);
      const [disk, level] = stable.pick(ECS_DISKS);
      const image = stable.skewedPick(ECS_IMAGES, 1.5);
      return {
        vm_yundun_monitor: "1",
        iooptimized: "optimized",
        vm_cpu: String(cpu),
        vm_iz: stable.chance(0.3) ? "random" : zone,
        vm_yundun_service: "1",
        vm_web_type: "1",
        vm_bandwidth: `1024,${size.pick([0, 1, 5, 5, 10, 20, 100])}`,
        systemdisk: `${disk},/dev/xvda,${size.pick([40, 40, 80, 100, 200])},${level}`,
        vm_region_no: `${r.id}-dg-a0${stable.int(1, 3)}`,
        vm_vpc_switch_id: `vsw-${r.code}${stable.lowerAlnum(17)}`,
        instance_type: `${family},${generation},${family}.${sizeName}`,
        vm_os: image,
        vm_ram: String(cpu * ramPerCpu * 1024),
      };
    },
    parameters: (c) => [
      ["InstanceType", String(c.instance_type).split(",")[2]],
      ["SystemDisk.Category", String(c.systemdisk).split(",")[0]],
      ["SystemDisk.Size", String(c.systemdisk).split(",")[2]],
    ],
    monthlyPrice: (c) => Number(c.vm_cpu) * 78 + Number(c.vm_ram) / 1024 / 4,
  },
  {
    key: "rds",
    serviceName: "Rds",
    eventSource: "rds.aliyuncs.com",
    productCode: "rds",
    resourceType: "ACS::RDS::DBInstance",
    weight: 14,
    newId: (rng, r) => `rm-${r.code}${rng.lowerAlnum(16)}`,
    config(stable, size, r, zone) {
      const engine = stable.weightedPair<[string, string[]]>([
        [["MySQL", ["8.0", "5.7"]], 6],
        [["PostgreSQL", ["16.0", "14.0"]], 2],
        [["SQLServer", ["2019_std_ha"]], 1],
        [["MariaDB", ["10.3"]], 0.5],
      ]);
      const engineKey = engine[0] === "PostgreSQL" ? "pg" : engine[0].toLowerCase();
      return {
        region: r.id,
        zone_id: zone,
        engine: engine[0],
        engine_version: stable.pick(engine[1]),
        db_instance_class: size.pick([
          `rds.${engineKey}.s2.large`,
          `rds.${engineKey}.s3.large`,
          `${engineKey}.n2.medium.2c`,
          `${engineKey}.n4.large.2c`,
          `${engineKey}.x4.xlarge.2c`,
        ]),
        db_instance_storage: String(size.pick([20, 50, 100, 200, 500, 1000])),
        storage_type: stable.pick(["local_ssd", "cloud_essd", "cloud_essd", "general_essd"]),
        category: stable.pick(["HighAvailability", "HighAvailability", "Basic"]),
      };
    },
    parameters: (c) => [
      ["Engine", c.engine],
      ["EngineVersion", c.engine_version],
      ["DBInstanceClass", c.db_instance_class],
      ["DBInstanceStorage", c.db_instance_storage],
    ],
    monthlyPrice: (c) => 120 + Number(c.db_instance_storage) * 0.8,
  },
  {
    key: "slb",
    serviceName: "Slb",
    eventSource: "slb.aliyuncs.com",
    productCode: "slb",
    resourceType: "ACS::SLB::LoadBalancer",
    weight: 9,
    newId: (rng, r) => `lb-${r.code}${rng.lowerAlnum(17)}`,
    config(stable, size, r) {
      const [master, slave] = r.zones.length > 1 ? [r.zones[0], r.zones[1]] : [r.zones[0], r.zones[0]];
      return {
        lbs_region: r.id,
        lbs_master_zone: master,
        lbs_slave_zone: slave,
        lbs_address_type: stable.pick(["internet", "internet", "intranet"]),
        lbs_pay_type: stable.pick(["paybybandwidth", "paybytraffic"]),
        lbs_bandwidth: String(size.pick([1024, 5120, 10240, 51200])),
        lbs_instance_spec: size.pick(["slb.s1.small", "slb.s2.small", "slb.s2.medium", "slb.s3.small", "slb.s3.large"]),
        lbs_address_ip_version: stable.chance(0.9) ? "ipv4" : "ipv6",
      };
    },
    parameters: (c) => [
      ["InstanceSpec", c.lbs_instance_spec],
      ["Bandwidth", c.lbs_bandwidth],
    ],
    monthlyPrice: (c) => 40 + Number(c.lbs_bandwidth) / 100,
  },
  {
    key: "redis",
    serviceName: "R-kvstore",
    eventSource: "r-kvstore.aliyuncs.com",
    productCode: "redisa",
    resourceType: "ACS::Redis::DBInstance",
    weight: 8,
    newId: (rng, r) => `r-${r.code}${rng.lowerAlnum(16)}`,
    config(stable, size, r, zone) {
      const capacity = size.pick([1024, 2048, 4096, 8192, 16384]);
      return {
        region: r.id,
        zone_id: zone,
        engine_version: stable.pick(["5.0", "6.0", "7.0"]),
        architecture_type: stable.pick(["standard", "standard", "cluster", "rwsplit"]),
        instance_class: `redis.master.${capacity <= 2048 ? "small" : capacity <= 8192 ? "mid" : "large"}.default`,
        capacity: String(capacity),
        node_type: "double",
      };
    },
    parameters: (c) => [
      ["InstanceClass", c.instance_class],
      ["EngineVersion", c.engine_version],
    ],
    monthlyPrice: (c) => Number(c.capacity) / 16,
  },
  {
    key: "oss",
    serviceName: "Oss",
    eventSource: "oss.aliyuncs.com",
    productCode: "oss",
    resourceType: "ACS::OSS::ResourcePackage",
    weight: 6,
    newId: (rng, r) => `ossbag-${r.id}-${rng.lowerAlnum(12)}`,
    config(stable, size, r) {
      return {
        region: r.id,
        ord_package_type: stable.pick(["storage", "storage", "downstream", "request"]),
        storage_class: "Standard",
        package_spec: `${size.pick([40, 100, 500, 1024, 5120])}GB`,
        period_unit: "Month",
      };
    },
    parameters: (c) => [
      ["PackageType", c.ord_package_type],
      ["PackageSpec", c.package_spec],
    ],
    monthlyPrice: (c) => parseInt(String(c.package_spec), 10) / 10,
  },
  {
    key: "eip",
    serviceName: "Vpc",
    eventSource: "vpc.aliyuncs.com",
    productCode: "eip",
    resourceType: "ACS::VPC::EIP",
    weight: 10,
    newId: (rng, r) => `eip-${r.code}${rng.lowerAlnum(17)}`,
    config(stable, size, r) {
      return {
        region: r.id,
        internet_charge_type: stable.pick(["PayByBandwidth", "PayByTraffic"]),
        bandwidth: String(size.pick([1, 5, 10, 20, 50, 100])),
        isp: stable.chance(0.85) ? "BGP" : "BGP_PRO",
        netmode: "public",
      };
    },
    parameters: (c) => [["Bandwidth", c.bandwidth]],
    monthlyPrice: (c) => 23 * Number(c.bandwidth),
  },
  {
    key: "nat",
    serviceName: "Vpc",
    eventSource: "vpc.aliyuncs.com",
    productCode: "nat",
    resourceType: "ACS::VPC::NatGateway",
    weight: 4,
    newId: (rng, r) => `ngw-${r.code}${rng.lowerAlnum(17)}`,
    config(stable, size, r) {
      return {
        region: r.id,
        nat_type: "Enhanced",
        spec: size.pick(["Small", "Middle", "Large"]),
        vpc_id: `vpc-${r.code}${stable.lowerAlnum(17)}`,
        vswitch_id: `vsw-${r.code}${stable.lowerAlnum(17)}`,
      };
    },
    parameters: (c) => [["Spec", c.spec]],
    monthlyPrice: () => 360,
  },
  {
    key: "polardb",
    serviceName: "polardb",
    eventSource: "polardb.aliyuncs.com",
    productCode: "polardb",
    resourceType: "ACS::PolarDB::DBCluster",
    weight: 5,
    newId: (rng, r) => `pc-${r.code}${rng.lowerAlnum(14)}`,
    config(stable, size, r, zone) {
      const mysql = stable.chance(0.8);
      return {
        region: r.id,
        zone_id: zone,
        db_type: mysql ? "MySQL" : "PostgreSQL",
        db_version: mysql ? stable.pick(["8.0", "5.7"]) : "14",
        db_node_class: size.pick(["polar.mysql.x4.medium", "polar.mysql.x4.large", "polar.mysql.x8.xlarge"]),
        db_node_count: String(size.int(2, 4)),
        storage_type: "PSL5",
      };
    },
    parameters: (c) => [
      ["DBType", c.db_type],
      ["DBNodeClass", c.db_node_class],
    ],
    monthlyPrice: (c) => 450 * Number(c.db_node_count),
  },
  {
    key: "mongodb",
    serviceName: "Dds",
    eventSource: "dds.aliyuncs.com",
    productCode: "dds",
    resourceType: "ACS::MongoDB::DBInstance",
    weight: 4,
    newId: (rng, r) => `dds-${r.code}${rng.lowerAlnum(12)}`,
    config(stable, size, r, zone) {
      return {
        region: r.id,
        zone_id: zone,
        engine_version: stable.pick(["4.4", "5.0", "6.0", "7.0"]),
        db_instance_class: size.pick([
          "dds.mongo.mid",
          "dds.mongo.standard",
          "mdb.shard.4x.large.d",
          "mdb.shard.8x.xlarge.d",
        ]),
        db_instance_storage: String(size.pick([20, 50, 100, 250, 500])),
        replication_factor: "3",
      };
    },
    parameters: (c) => [
      ["DBInstanceClass", c.db_instance_class],
      ["DBInstanceStorage", c.db_instance_storage],
    ],
    monthlyPrice: (c) => 200 + Number(c.db_instance_storage),
  },
];

export const PRODUCT_WEIGHTS = PRODUCTS.map((product) => product.weight);
export const ECS = PRODUCTS[0];

/** Public source addresses, masked the way ActionTrail documentation shows them. */
export const PUBLIC_IP_PREFIXES = [
  "47.96",
  "47.97",
  "47.98",
  "47.110",
  "116.62",
  "120.55",
  "120.26",
  "39.170",
  "223.104",
  "112.124",
  "106.11",
  "42.120",
  "101.37",
  "121.40",
  "183.134",
  "218.108",
  "8.210",
  "8.219",
  "59.82",
  "113.108",
];
export const PRIVATE_IP_PREFIXES = ["192.168", "172.16", "10.0", "10.10"];
/** Where the platform's own events come from. */
export const SYSTEM_IPS = ["100.104.XX.XX", "100.100.XX.XX", "11.193.XX.XX"];

export const BROWSER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:134.0) Gecko/20100101 Firefox/134.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];
export const SDK_AGENTS = [
  "aliyun-cli/3.0.94",
  "aliyun-cli/3.0.226",
  "AlibabaCloud (Linux; amd64) Java/1.8.0_292-b10 Core/4.5.25 HTTPClient/ApacheHttpClient",
  "AlibabaCloud (Linux; x86_64) Python/3.8.10 Core/2.13.35 python-requests/2.25.1",
  "AlibabaCloud (linux; amd64) Go/go1.21.5 Core/1.63.16 TeaDSL/1",
  "Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-alicloud/1.214.1",
  "AlibabaCloud (Linux; x64) Node.js/v18.19.0 Core/1.7.1 TeaDSL/1",
  "AlibabaCloud (Linux; amd64) Java/17.0.9 Core/0.2.10 TeaDSL/1",
];
export const CONSOLE_AGENT = "AliyunConsole";
export const BILLING_CONSOLE_AGENT = "usercenter2.aliyun.com";
export const AUTO_RENEW_AGENT = "usercenter2.aliyun.com/renew/auto";

export const HUMAN_NAMES = [
  "alice",
  "bob",
  "carol",
  "dave",
  "erin",
  "frank",
  "grace",
  "heidi",
  "ivan",
  "judy",
  "mallory",
  "olivia",
  "peggy",
  "rupert",
  "sybil",
  "trent",
  "victor",
  "wendy",
  "li.wei",
  "zhang.min",
  "wang.fang",
  "chen.jie",
  "liu.yang",
  "zhao.lei",
];
export const BOT_NAMES = [
  "finance-bot",
  "billing-export",
  "terraform",
  "deploy-ci",
  "k8s-controller",
  "grafana-reader",
  "cost-analyzer",
  "backup-agent",
  "ops-automation",
  "monitor-agent",
  "cmdb-sync",
  "budget-alerts",
];
export const ROLE_NAMES = [
  "ecs-admin",
  "devops",
  "finance-readonly",
  "billing-operator",
  "k8s-node-role",
  "sso-admin",
  "data-platform",
  "security-audit",
];
export const NEW_USER_PREFIXES = ["dev", "ops", "qa", "data", "intern", "svc", "contractor", "analyst"];
export const RAM_POLICIES: ReadonlyArray<[name: string, type: "System" | "Custom"]> = [
  ["AliyunBSSReadOnlyAccess", "System"],
  ["AliyunBSSFullAccess", "System"],
  ["AliyunECSFullAccess", "System"],
  ["AliyunECSReadOnlyAccess", "System"],
  ["AliyunRDSFullAccess", "System"],
  ["AliyunOSSReadOnlyAccess", "System"],
  ["ReadOnlyAccess", "System"],
  ["AliyunRAMReadOnlyAccess", "System"],
  ["AdministratorAccess", "System"],
  ["ecs-start-stop-only", "Custom"],
  ["billing-export-bucket", "Custom"],
];
export const MAIL_DOMAINS = ["example.com", "example.cn", "corp.example.net", "example.org"];

export interface ErrorSpec {
  code: string;
  message: string;
  weight: number;
}

const FORBIDDEN_RAM: ErrorSpec = {
  code: "Forbidden.RAM",
  message: "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
  weight: 4,
};
const THROTTLED: ErrorSpec = {
  code: "Throttling.User",
  message: "Request was denied due to user flow control.",
  weight: 3,
};
const INVALID_PARAMETER: ErrorSpec = { code: "InvalidParameter", message: "", weight: 3 };

/** Error codes by API family; `InvalidParameter` messages name a parameter of the call. */
export const ERRORS: Readonly<Record<"bss" | "bssInstance" | "ecs" | "ram" | "sts", readonly ErrorSpec[]>> = {
  bss: [
    FORBIDDEN_RAM,
    THROTTLED,
    INVALID_PARAMETER,
    { code: "NotApplicable", message: "This API is not applicable for caller.", weight: 2 },
    {
      code: "InternalError",
      message: "The request processing has failed due to some unknown error, exception or failure.",
      weight: 0.5,
    },
  ],
  bssInstance: [
    FORBIDDEN_RAM,
    THROTTLED,
    INVALID_PARAMETER,
    { code: "InvalidInstance.NotFound", message: "The specified instance is not found.", weight: 3 },
    { code: "NotApplicable", message: "This API is not applicable for caller.", weight: 1 },
  ],
  ecs: [
    FORBIDDEN_RAM,
    THROTTLED,
    { code: "InvalidInstanceId.NotFound", message: "The specified InstanceId does not exist.", weight: 2 },
    {
      code: "IncorrectInstanceStatus",
      message: "The current status of the resource does not support this operation.",
      weight: 3,
    },
    {
      code: "MissingParameter",
      message: 'The input parameter "RegionId" that is mandatory for processing this request is not supplied.',
      weight: 0.5,
    },
  ],
  ram: [
    {
      code: "NoPermission",
      message: "You are not authorized to do this action. You should be authorized by RAM.",
      weight: 4,
    },
    { code: "EntityNotExist.User", message: "The user does not exist.", weight: 1 },
    THROTTLED,
  ],
  sts: [
    {
      code: "NoPermission",
      message: "You are not authorized to do this action. You should be authorized by RAM.",
      weight: 4,
    },
    { code: "EntityNotExist.Role", message: "The specified role does not exist.", weight: 1 },
  ],
};
