/**
 * Imports (`data-platform:imports`): existing objects the stack takes over instead of creating them, by the `import`
 * resource option. They are what `pulumi destroy` left (README "Teardown and re-creation": every retained resource
 * exists, and a create would fail: azure-native refuses to create an existing resource, pulumi-kubernetes 4.29+
 * answers AlreadyExists) or objects made outside Pulumi ("Importing existing resources").
 *
 * Keys are resource names in the program (`name` in plan.json, the last part of a URN); only resources the stack
 * retains on delete can be imported. Each id is checked, before the registration, to name the very object the
 * resource describes: an id of another object would be imported and then replaced (the name is force-new).
 *
 * The engine imports and then updates what differs in one deployment (pulumi/pulumi CHANGELOG 3.174.0), and treats
 * the option as no import once the state holds the resource with that import id (`pkg/resource/deploy/
 * step_generator.go`, `isImport`): an entry can stay after its import.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "./config/types";

/** The ARM resource path (after `/providers/`) of each importable Azure type, from its inputs. */
const ARM_PATHS: Readonly<
    Record<string, { readonly keys: readonly string[]; path(i: Readonly<Record<string, string>>): string }>
> = {
    "azure-native:keyvault:Vault": {
        keys: ["vaultName"],
        path: (i) => `Microsoft.KeyVault/vaults/${i.vaultName}`,
    },
    "azure-native:keyvault:Secret": {
        keys: ["vaultName", "secretName"],
        path: (i) => `Microsoft.KeyVault/vaults/${i.vaultName}/secrets/${i.secretName}`,
    },
    "azure-native:dbforpostgresql:Server": {
        keys: ["serverName"],
        path: (i) => `Microsoft.DBforPostgreSQL/flexibleServers/${i.serverName}`,
    },
    "azure-native:dbforpostgresql:Database": {
        keys: ["serverName", "databaseName"],
        path: (i) => `Microsoft.DBforPostgreSQL/flexibleServers/${i.serverName}/databases/${i.databaseName}`,
    },
};

/** An ARM id's subscription, or undefined when `id` is not shaped like one. */
function subscriptionOf(id: string): string | undefined {
    return /^\/subscriptions\/([^/]+)\/resourceGroups\//i.exec(id)?.[1];
}

/** True for the types an import id can be made for (every Kubernetes object, the Azure types above). */
export function importable(type: string): boolean {
    return type.startsWith("kubernetes:") || ARM_PATHS[type] !== undefined;
}

/**
 * The id `pulumi import` takes for the resource: its ARM resource id in `subscriptionId`, or a Kubernetes object's
 * `[namespace/]name` (pulumi-kubernetes' import id). `inputs` are resolved values.
 */
export function importIdOf(type: string, inputs: Readonly<Record<string, unknown>>, subscriptionId: string): string {
    if (type.startsWith("kubernetes:")) {
        const { name, namespace } = (inputs.metadata ?? {}) as { name?: string; namespace?: string };
        return namespace ? `${namespace}/${name}` : String(name);
    }
    const arm = ARM_PATHS[type];
    if (!arm) {
        throw new Error(`no import id for ${type}`);
    }
    const names = inputs as Readonly<Record<string, string>>;
    return `/subscriptions/${subscriptionId}/resourceGroups/${names.resourceGroupName}/providers/${arm.path(names)}`;
}

/**
 * `data-platform:imports` applied to a run: the `import` option on each retained resource an entry names (a stack
 * transformation), and the entries that named none, once every resource is registered.
 */
export class Imports {
    private readonly seen = new Map<string, string[]>();

    constructor(private readonly ids: Readonly<Record<string, string>>) {}

    /** Sets `import` on the retained resource a key names, and checks the id names it. */
    readonly transformation: pulumi.ResourceTransformation = ({ type, name, props, opts }) => {
        const id = this.ids[name];
        if (id === undefined) {
            return undefined;
        }
        this.seen.set(name, [...(this.seen.get(name) ?? []), type]);
        if (!opts.retainOnDelete || !importable(type)) {
            return undefined;
        }
        return { props: this.checked(type, name, props, id), opts: pulumi.mergeOptions(opts, { import: id }) };
    };

    /** One line per key that named nothing importable, or several resources, in the `key: given; allowed` form. */
    problems(): string[] {
        return Object.keys(this.ids).flatMap((name) => {
            const types = this.seen.get(name) ?? [];
            const given = `${PROJECT}:imports.${name}: given ${JSON.stringify(this.ids[name])}; allowed:`;
            if (types.length === 1 && importable(types[0])) {
                return [];
            }
            const what =
                types.length === 0
                    ? "no resource of this stack has this name"
                    : types.length > 1
                      ? `${types.length} resources have this name (${types.join(", ")})`
                      : `${types[0]} ${name} is not retained on delete`;
            return [
                `${given} the name of a resource the stack retains on delete (npm run imports lists them); ${what}`,
            ];
        });
    }

    /** `props` with the resource's name input resolved only once `id` is found to name this very object. */
    private checked(type: string, name: string, props: pulumi.Inputs, id: string): pulumi.Inputs {
        const refuse = (expected: string) => {
            throw new pulumi.RunError(
                `${PROJECT}:imports.${name}: given ${JSON.stringify(id)}; allowed: the id of ${type} ${name} ` +
                    `itself, ${expected}`,
            );
        };
        if (type.startsWith("kubernetes:")) {
            const metadata = pulumi.output(props.metadata).apply((m) => {
                const expected = importIdOf(type, { metadata: m }, "");
                if (expected !== id) {
                    refuse(JSON.stringify(expected));
                }
                return m;
            });
            return { ...props, metadata };
        }
        const arm = ARM_PATHS[type];
        const fields = Object.fromEntries(
            ["resourceGroupName", ...arm.keys].map((key): [string, pulumi.Input<string>] => [key, props[key]]),
        );
        const nameKey = arm.keys[arm.keys.length - 1];
        const checkedName = pulumi.output(fields).apply((resolved) => {
            const subscription = subscriptionOf(id);
            const expected = importIdOf(type, resolved, subscription ?? "<subscription>");
            // ARM ids are case-insensitive; the subscription is the provider's to check.
            if (subscription === undefined || expected.toLowerCase() !== id.toLowerCase()) {
                refuse(expected);
            }
            return resolved[nameKey];
        });
        return { ...props, [nameKey]: checkedName };
    }
}
