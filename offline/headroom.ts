/**
 * How far a recorded stack is from each documented limit (components/limits.ts `LIMITS`), measured on what the program
 * registered: the largest Key Vault value, Kubernetes object and annotations (Patroni's configuration of an SGCluster
 * included), role assignments, federated credentials per identity and identities per resource group. `npm run bench` prints these rows; the limits test asserts them.
 */
import { DocumentedLimit, LIMITS } from "../components/limits";
import type { RecordedResource } from "./mockEngine";

export interface HeadroomRow {
    readonly limit: keyof typeof LIMITS;
    /** What holds the most (an object's name, a resource group), or the stack for a count. */
    readonly largest: string;
    readonly used: number;
    readonly max: number;
}

function top(entries: Array<{ name: string; value: number }>): { name: string; value: number } {
    return entries.reduce((a, b) => (b.value > a.value ? b : a), { name: "(none)", value: 0 });
}

function countBy(resources: readonly RecordedResource[], key: (r: RecordedResource) => string) {
    const counts = new Map<string, number>();
    resources.forEach((r) => counts.set(key(r), (counts.get(key(r)) ?? 0) + 1));
    return [...counts].map(([name, value]) => ({ name, value }));
}

/**
 * The Secrets External Secrets renders from values kept in parts (`components/vault/parts.ts`: `<base>`, `<base>-1`,
 * ...): no Pulumi resource, so measured from their parts, base64-encoded as a Secret's data is (4/3).
 */
function partedSecrets(secrets: readonly RecordedResource[]): Array<{ name: string; value: number }> {
    const bytes = new Map(
        secrets.map((r) => [String(r.inputs.secretName), Buffer.byteLength(String(r.inputs.properties?.value ?? ""))]),
    );
    const joined = new Map<string, number>();
    for (const [name, size] of bytes) {
        const base = /^(.*)-\d+$/.exec(name)?.[1];
        const owner = base !== undefined && bytes.has(base) && bytes.has(`${base}-1`) ? base : name;
        if (owner !== name || bytes.has(`${name}-1`)) {
            joined.set(owner, (joined.get(owner) ?? 0) + size);
        }
    }
    return [...joined].map(([name, size]) => ({ name: `Secret from ${name}*`, value: Math.ceil(size / 3) * 4 }));
}

/**
 * The rows of one stack. A Kubernetes object is measured as its recorded inputs' JSON (what the provider sends, near
 * the API server's own encoding); Helm releases are not objects.
 */
export function headroomRows(resources: readonly RecordedResource[]): HeadroomRow[] {
    const of = (type: string) => resources.filter((r) => r.type === type);
    const row = (limit: keyof typeof LIMITS, found: { name: string; value: number }): HeadroomRow => ({
        limit,
        largest: found.name,
        used: found.value,
        max: (LIMITS[limit] as DocumentedLimit).max,
    });
    return [
        row(
            "keyVaultValueBytes",
            top(
                of("azure-native:keyvault:Secret").map((r) => ({
                    name: r.name,
                    value: Buffer.byteLength(String(r.inputs.properties?.value ?? "")),
                })),
            ),
        ),
        row(
            "kubernetesObjectBytes",
            top(
                resources
                    .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm"))
                    .map((r) => ({
                        name: `${r.type.split(":")[2]} ${r.name}`,
                        value: Buffer.byteLength(JSON.stringify(r.inputs)),
                    }))
                    .concat(partedSecrets(of("azure-native:keyvault:Secret"))),
            ),
        ),
        row(
            "kubernetesAnnotationsBytes",
            top(
                resources
                    .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm"))
                    .map((r) => ({
                        name: `${r.type.split(":")[2]} ${r.name}`,
                        // An object's own annotations; an SGCluster's Patroni configuration ends up in Patroni's.
                        value: Buffer.byteLength(
                            JSON.stringify(
                                r.type === "kubernetes:stackgres.io/v1:SGCluster"
                                    ? (r.inputs.spec?.configurations?.patroni?.dynamicConfig ?? {})
                                    : (r.inputs.metadata?.annotations ?? {}),
                            ),
                        ),
                    })),
            ),
        ),
        row("roleAssignments", {
            name: "the stack",
            value: of("azure-native:authorization:RoleAssignment").length,
        }),
        row(
            "federatedCredentialsPerIdentity",
            top(
                countBy(
                    of("azure-native:managedidentity:FederatedIdentityCredential"),
                    (r) =>
                        // The identity's component, by its name (the URN's last part).
                        String(r.parent).split("::").pop()!,
                ),
            ),
        ),
        row(
            "identitiesPerResourceGroup",
            top(
                countBy(of("azure-native:managedidentity:UserAssignedIdentity"), (r) =>
                    String(r.inputs.resourceGroupName),
                ),
            ),
        ),
    ];
}

/** One printed line: the limit, what holds the most, used / max and the headroom left in percent. */
export function headroomLine(stack: string, row: HeadroomRow): string {
    const left = ((1 - row.used / row.max) * 100).toFixed(1);
    const over = row.used > row.max ? " OVER" : "";
    return `${stack.padEnd(8)} ${row.limit.padEnd(32)} ${String(row.used).padStart(9)} / ${String(row.max).padEnd(8)} ${left.padStart(5)}% left${over}  (${row.largest})`;
}

/** What a stack takes of the limits its environment's stacks share: one subscription, its resource groups. */
export interface SharedCounts {
    readonly roleAssignments: number;
    readonly identitiesByResourceGroup: Readonly<Record<string, number>>;
}

export function sharedCounts(resources: readonly RecordedResource[]): SharedCounts {
    return {
        roleAssignments: resources.filter((r) => r.type === "azure-native:authorization:RoleAssignment").length,
        identitiesByResourceGroup: Object.fromEntries(
            countBy(
                resources.filter((r) => r.type === "azure-native:managedidentity:UserAssignedIdentity"),
                (r) => String(r.inputs.resourceGroupName),
            ).map(({ name, value }) => [name, value]),
        ),
    };
}

/**
 * The rows of an environment (a platform stack and its tenant stacks, one subscription): Azure's 4,000 role
 * assignments per subscription and 800 identities per resource group count every stack's, so those are summed; a
 * value, an object or an identity's credentials belong to one stack, so those are the largest of any.
 */
export function environmentRows(
    stacks: ReadonlyArray<{
        readonly stack: string;
        readonly rows: readonly HeadroomRow[];
        readonly shared: SharedCounts;
    }>,
): HeadroomRow[] {
    const identities = new Map<string, number>();
    for (const { shared } of stacks) {
        for (const [group, count] of Object.entries(shared.identitiesByResourceGroup)) {
            identities.set(group, (identities.get(group) ?? 0) + count);
        }
    }
    const summed: Partial<Record<keyof typeof LIMITS, { name: string; value: number }>> = {
        roleAssignments: {
            name: `${stacks.length} stacks, one subscription`,
            value: stacks.reduce((sum, s) => sum + s.shared.roleAssignments, 0),
        },
        identitiesPerResourceGroup: top([...identities].map(([name, value]) => ({ name, value }))),
    };
    return stacks[0].rows.map((first) => {
        const sum = summed[first.limit];
        if (sum !== undefined) {
            return { ...first, largest: sum.name, used: sum.value };
        }
        const largest = stacks
            .map(({ stack, rows }) => ({ stack, row: rows.find((r) => r.limit === first.limit)! }))
            .reduce((a, b) => (b.row.used > a.row.used ? b : a));
        return { ...largest.row, largest: `${largest.stack}: ${largest.row.largest}` };
    });
}
