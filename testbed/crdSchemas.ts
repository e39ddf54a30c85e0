/**
 * The upstream CRD schemas the tests validate custom resources against, pinned: each file's upstream repository,
 * commit and path, and the sha256 of its bytes (the files the project's shared/schemas holds, byte for byte; its
 * README names the same releases). The files stay out of this repository: a machine without `CRD_SCHEMAS_DIR` or
 * `../shared/schemas` fetches them into a cache (`npm run schemas:fetch`, run by .ci/install.sh), each checked
 * against its sha256 before it is kept.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A release whose CRDs the tests read: repository, tag, and the commit of that tag. */
interface UpstreamRelease {
    readonly repository: string;
    readonly tag: string;
    readonly commit: string;
    /** Where the CRD files are in the repository at that commit. */
    readonly crdPath: (file: string) => string;
}

/** By folder of the schemas dir. */
export const UPSTREAM_RELEASES = {
    stackgres: {
        repository: "ongres/stackgres",
        tag: "1.18.6",
        commit: "471d417e68b492443d938f7cd9ed16963407e071",
        crdPath: (file) => `stackgres-k8s/src/common/src/main/resources/crds/${file}`,
    },
    "external-secrets": {
        repository: "external-secrets/external-secrets",
        tag: "v2.9.0",
        commit: "378bdb622ed9712ef4a58370f6a17af033b7d343",
        crdPath: (file) => `config/crds/bases/${file}`,
    },
    "cert-manager": {
        repository: "cert-manager/cert-manager",
        tag: "v1.21.1",
        commit: "24e33194fb39488eff2bbf10c6dc640f407cad44",
        crdPath: (file) => `deploy/crds/${file}`,
    },
    "prometheus-operator": {
        repository: "prometheus-operator/prometheus-operator",
        tag: "v0.93.0",
        commit: "f8fafd475f3d132e239432ae6172de60a6cb6516",
        crdPath: (file) => `example/prometheus-operator-crd/${file}`,
    },
} as const satisfies Record<string, UpstreamRelease>;

type Folder = keyof typeof UPSTREAM_RELEASES;

/** sha256 of each file, by `<folder>/<file>`. */
const SHA256: Readonly<Record<`${Folder}/${string}`, string>> = {
    "cert-manager/cert-manager.io_certificates.yaml":
        "7ad91029c00ec959d54215b19d3b1a9b7e0247eaa60f987151c2b70d8661f8af",
    "external-secrets/external-secrets.io_clusterexternalsecrets.yaml":
        "9f5563a19efb4bce47f3916937eac160eae1eaec56560e4f6f77b1b2047a8664",
    "external-secrets/external-secrets.io_clustersecretstores.yaml":
        "f847c69ae317a76527fc37c163ddfe15d9026e14eb47dd325319e914e0433c2a",
    "external-secrets/external-secrets.io_externalsecrets.yaml":
        "5044be5a610ca90a075f34f03ed20b462695c43387ba9410db7f4250e47b1e2f",
    "external-secrets/external-secrets.io_pushsecrets.yaml":
        "1d97b97b4aca0799bc8dc05d45d34adf2265ae5c3a87268026b6aafb1718f4ec",
    "external-secrets/external-secrets.io_secretstores.yaml":
        "7f750858d393913915a2f15daff9e1d2f56ca207c09920c055d7a68cceacb641",
    "prometheus-operator/monitoring.coreos.com_prometheusrules.yaml":
        "78be98554b9c8506ab2b4f4feb91c5f3a56e536a0a510f3a8e876a459970d56d",
    "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml":
        "a99047972c9dd7679ce2050b9968e8a08773492e671b3e17abd476d42aa78a32",
    "stackgres/SGBackup.yaml": "d502dcabdaeae79a5963cc6a2b608efe749db020d90aacf89a879afd76219317",
    "stackgres/SGCluster.yaml": "9fc7fb0e68933baa07fca89512e01724ae3902d6030075c48d6098aee3011cec",
    "stackgres/SGDistributedLogs.yaml": "fe155d282f1a2b12e905c103ee45627be1b12c60aad47b162e0ab66151be0171",
    "stackgres/SGInstanceProfile.yaml": "39f9d3a52746ba67c318682ccd6ca1c8d015a8fd19a7e7f88668449fc29510bd",
    "stackgres/SGObjectStorage.yaml": "499788987515c82dffc301caa1f7f80d36c1fc7a2a91d75ff036bdf266a0c674",
    "stackgres/SGPoolingConfig.yaml": "62a043a1396d640c575dbe49cd37a858844fa0ab3ea8c47103bfe3b9e9ddf73f",
    "stackgres/SGPostgresConfig.yaml": "2401d692067bf04c52990f83ebf8b62fa90302c401795e80bda5df404e63b605",
    "stackgres/SGScript.yaml": "fbb59eadb84d9489bd5543ebeb48f22181e93d59e76bd25e1df545f3ee3f2c0d",
};

/** One pinned file: where it goes in the schemas dir, where it comes from, and its digest. */
export interface PinnedSchema {
    /** `<folder>/<file>`, as in shared/schemas. */
    readonly file: string;
    /** `<owner>/<repo>/<commit>/<path>`: under a raw-content host, the file's URL. */
    readonly source: string;
    readonly sha256: string;
}

export const PINNED_SCHEMAS: readonly PinnedSchema[] = Object.entries(SHA256).map(([file, sha256]) => {
    const [folder, name] = file.split("/") as [Folder, string];
    const release: UpstreamRelease = UPSTREAM_RELEASES[folder];
    return { file, sha256, source: `${release.repository}/${release.commit}/${release.crdPath(name)}` };
});

/** GitHub's raw-content host. */
export const RAW_CONTENT_HOST = "https://raw.githubusercontent.com";

export function sha256Of(bytes: Uint8Array): string {
    return crypto.createHash("sha256").update(bytes).digest("hex");
}

/** The pinned files of `dir` that are missing or differ from their pin. */
export function unverifiedSchemas(dir: string): PinnedSchema[] {
    return PINNED_SCHEMAS.filter((p) => {
        const file = path.join(dir, p.file);
        return !fs.existsSync(file) || sha256Of(fs.readFileSync(file)) !== p.sha256;
    });
}

/** Where fetched schemas are kept: per user, one folder per set of pins (a new pin never reads an old file). */
export function schemaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
    const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    const pins = sha256Of(Buffer.from(PINNED_SCHEMAS.map((p) => `${p.file} ${p.sha256}`).join("\n")));
    return path.join(base, "data-platform", `crd-schemas-${pins.slice(0, 12)}`);
}

/**
 * Fetches every pinned file `dir` lacks (or holds altered) from `host`, keeping each only when its sha256 matches.
 * Throws naming each file that could not be fetched or did not match; the files that did are kept.
 */
export async function fetchSchemas(dir: string, host: string = RAW_CONTENT_HOST): Promise<number> {
    const failures: string[] = [];
    const wanted = unverifiedSchemas(dir);
    for (const p of wanted) {
        const url = `${host}/${p.source}`;
        try {
            const response = await fetch(url);
            if (!response.ok) {
                throw new Error(`HTTP ${response.status}`);
            }
            const bytes = new Uint8Array(await response.arrayBuffer());
            const got = sha256Of(bytes);
            if (got !== p.sha256) {
                throw new Error(`sha256 ${got}, pinned ${p.sha256}`);
            }
            const target = path.join(dir, p.file);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.writeFileSync(`${target}.part`, bytes);
            fs.renameSync(`${target}.part`, target);
        } catch (err) {
            failures.push(`${p.file} from ${url}: ${err instanceof Error ? err.message : String(err)}`);
        }
    }
    if (failures.length > 0) {
        throw new Error(`could not fetch ${failures.length} CRD schema file(s): ${failures.join("; ")}`);
    }
    return wanted.length;
}
