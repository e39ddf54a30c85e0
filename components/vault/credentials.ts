/**
 * Generated credentials: one `random.RandomPassword` per declared id, each stored in Key Vault, and the
 * per-application connection bundle (the application's whole environment as one JSON secret).
 */
import { LIMITS } from "../documentedLimits";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type * as keyvault from "@pulumi/azure-native/keyvault";
import type { AppConfig } from "../config/platform";
import type { PasswordPolicy, Rotation, Rotations } from "../config/keyVault";
import { nextTurn } from "../eventLoop";
import type { CredentialSource, Env, VaultWriter } from "../interfaces";
import { BUNDLE_CONTENT_TYPE, PASSWORD_CONTENT_TYPE, bundleSecretName, credentialSecretName } from "./secretNames";

/** The type token of `Credentials` (tests and the sandbox find the generated passwords under it). */
export const CREDENTIALS_COMPONENT_TYPE = "data-platform:credentials:Credentials";

/** Keeper of a credential that was never rotated (a generation or legacy value is never empty, so none collides). */
const NEVER_ROTATED = "";

/**
 * The keeper of a credential with one password: its generation, or at generation 0 the free-form value it had
 * before generations (so that password stays). Unset: the never-rotated keeper.
 */
export function singleKeeper(rotation: Rotation | undefined): string {
    if (rotation === undefined) {
        return NEVER_ROTATED;
    }
    return rotation.generation === 0 && rotation.legacyValue !== undefined
        ? rotation.legacyValue
        : String(rotation.generation);
}

/**
 * The keepers of a credential's two passwords ("slots") at `rotation`, and which slot is current. Generation n: slot a
 * holds the newest even generation, slot b the newest odd one, so raising n by one regenerates exactly one slot and
 * the other still holds the previous password (a program cannot read the password it replaced: Pulumi state holds
 * only the new one). Generation 0's keeper is the never-rotated one, so existing passwords stay as they are, or the
 * free-form value the credential had before generations (then slot a's only keeper), so that password stays too.
 */
export function rotationSlots(rotation: Rotation | undefined): { a: string; b?: string; current: "a" | "b" } {
    const n = rotation?.generation ?? 0;
    const keeper = (generation: number) =>
        generation <= 0 ? (rotation?.legacyValue ?? NEVER_ROTATED) : String(generation);
    if (n === 0) {
        return { a: keeper(0), current: "a" };
    }
    return n % 2 === 0
        ? { a: keeper(n), b: keeper(n - 1), current: "a" }
        : { a: keeper(n - 1), b: keeper(n), current: "b" };
}

/**
 * What a generated password's characters may change without regenerating it: Pulumi keeps an existing password's
 * stored value for these (`ignoreChanges`: "change the defaults for a property without forcing all existing deployed
 * stacks to update or replace", Pulumi docs, resource option ignoreChanges), though for terraform-provider-random
 * each forces a new password (`RequiresReplace` in internal/provider/resource_password.go). A new password, and a
 * rotation, takes the program's: on a replacement the engine re-checks the program's own inputs, ignored ones
 * included (pulumi/pulumi pkg/resource/deploy/step_generator.go, "we need to recompute the default values").
 */
export const PASSWORD_POLICY_INPUTS = ["length", "overrideSpecial"];

/** Character classes every password draws one character from (minLower ... minSpecial below). */
const PASSWORD_CLASSES = ["abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"];

/**
 * Bits of entropy of a password generated with `policy`, as terraform-provider-random draws it
 * (internal/random/string.go `CreateString`): one character from each class, then the rest from the whole alphabet,
 * every draw uniform; the shuffle that follows is not counted.
 */
export function passwordEntropyBits(policy: PasswordPolicy): number {
    const classes = [...PASSWORD_CLASSES, policy.special];
    const alphabet = classes.join("").length;
    const rest = policy.length - classes.length;
    return classes.reduce((bits, c) => bits + Math.log2(c.length), 0) + rest * Math.log2(alphabet);
}

export interface CredentialsArgs {
    /** Every credential id to generate (see `platformCredentialIds`); each is also its Key Vault secret name. */
    readonly ids: readonly string[];
    /** Length and special characters of every password. */
    readonly passwords: PasswordPolicy;
    /** Rotation value per id (`keyVault.rotations`): changing one generates that password anew. Default: none. */
    readonly rotations?: Rotations;
    /**
     * Ids whose previous password is kept (`rotationSlots`), for servers that accept both until the next rotation
     * (Redis ACL users). PostgreSQL alternates between two logins instead (`pg-app-*`/`pg-alt-*`). Default: none.
     */
    readonly keepPrevious?: readonly string[];
    /** Where the passwords are kept. */
    readonly vault: VaultWriter;
}

/** Credentials `Credentials.create` generates in one turn of the event loop (see components/eventLoop.ts). */
export const CREDENTIALS_PER_TURN = 10;

export class Credentials extends pulumi.ComponentResource implements CredentialSource {
    private readonly passwords = new Map<string, pulumi.Output<string>>();
    private readonly previous = new Map<string, pulumi.Output<string>>();

    /**
     * The component with every credential of `args.ids` generated, CREDENTIALS_PER_TURN of them per turn of the event
     * loop: at 100 applications they are about 600 resources, which registered at once held ~300 MB.
     */
    static async create(
        name: string,
        args: CredentialsArgs,
        opts?: pulumi.ComponentResourceOptions,
    ): Promise<Credentials> {
        const credentials = new Credentials(name, args, opts);
        for (let i = 0; i < args.ids.length; i += CREDENTIALS_PER_TURN) {
            await nextTurn();
            args.ids.slice(i, i + CREDENTIALS_PER_TURN).forEach((id) => credentials.generate(name, id, args));
        }
        return credentials;
    }

    private constructor(name: string, args: CredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super(CREDENTIALS_COMPONENT_TYPE, name, { ids: [...args.ids] }, opts);
        const twice = args.ids.find((id, i) => args.ids.indexOf(id) !== i);
        if (twice !== undefined) {
            throw new Error(`credential ${twice} is declared twice`);
        }
        // Every id is known now; `create` adds their resources as children afterwards.
        this.registerOutputs({ secretNames: args.ids.map(credentialSecretName) });
    }

    /** Credential `id`'s password (two when its previous one is kept) and its Key Vault secret. */
    private generate(name: string, id: string, args: CredentialsArgs): void {
        const rotation = args.rotations?.[id];
        const slots = args.keepPrevious?.includes(id)
            ? rotationSlots(rotation)
            : { a: singleKeeper(rotation), current: "a" as const };
        const slot = (resourceName: string, keeper: string) =>
            new random.RandomPassword(
                resourceName,
                {
                    length: args.passwords.length,
                    special: true,
                    overrideSpecial: args.passwords.special,
                    // One of each class: Azure and most servers demand at least three classes.
                    minLower: 1,
                    minUpper: 1,
                    minNumeric: 1,
                    minSpecial: 1,
                    // Only this credential's own rotation value: no other config change can regenerate it.
                    keepers: { rotation: keeper },
                },
                // A new length or alphabet waits for the password's next generation (PASSWORD_POLICY_INPUTS).
                { parent: this, ignoreChanges: PASSWORD_POLICY_INPUTS },
            );
        const a = pulumi.secret(slot(`${name}-${id}`, slots.a).result);
        const b = slots.b === undefined ? undefined : pulumi.secret(slot(`${name}-${id}-b`, slots.b).result);
        const value = slots.current === "b" && b ? b : a;
        args.vault.writeSecret(
            `${name}-${id}-kv`,
            { secretName: credentialSecretName(id), value, contentType: PASSWORD_CONTENT_TYPE },
            { parent: this },
        );
        this.passwords.set(id, value);
        if (b) {
            this.previous.set(id, slots.current === "b" ? a : b);
        }
    }

    password(id: string): pulumi.Output<string> {
        const value = this.passwords.get(id);
        if (!value) {
            throw new Error(
                `credential ${id} was not declared; add it to its service's list (components/<service>/credentials.ts)`,
            );
        }
        return value;
    }

    secretName(id: string): string {
        this.password(id);
        return credentialSecretName(id);
    }

    previousPassword(id: string): pulumi.Output<string> {
        return this.previous.get(id) ?? this.password(id);
    }
}

/** Environment variable names the bundle accepts (what a container `envFrom` can expose). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The bundle's JSON text: keys sorted, so the same environment always gives the same value (and no new version). */
export function renderBundle(env: Readonly<Record<string, string>>): string {
    const sorted: Record<string, string> = {};
    for (const key of Object.keys(env).sort()) {
        sorted[key] = env[key];
    }
    return JSON.stringify(sorted);
}

/** `renderBundle`'s text, refused past Key Vault's limit on a value (Key Vault would refuse the write). */
export function checkedBundle(secretName: string, env: Readonly<Record<string, string>>): string {
    const text = renderBundle(env);
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > LIMITS.keyVaultValueBytes.max) {
        throw new pulumi.RunError(
            `connection bundle ${secretName}: ${bytes} bytes, over ${LIMITS.keyVaultValueBytes.max}: ${LIMITS.keyVaultValueBytes.source}`,
        );
    }
    return text;
}

/**
 * Writes application `app`'s whole environment contract to Key Vault as one JSON secret, named
 * `bundleSecretName(app.name)`, for External Secrets to expand (`dataFrom.extract`) into one Kubernetes
 * Secret: a rotation then reaches the application in one step. The value is secret as a whole.
 */
export function writeConnectionBundle(
    vault: VaultWriter,
    app: AppConfig,
    env: Env,
    opts: pulumi.CustomResourceOptions,
): keyvault.Secret {
    const bad = Object.keys(env).filter((k) => !ENV_NAME.test(k));
    if (bad.length > 0) {
        throw new Error(`connection bundle of ${app.name}: invalid environment variable names ${bad.join(", ")}`);
    }
    const secretName = bundleSecretName(app.name);
    const json = pulumi.output(env).apply((values) => checkedBundle(secretName, values));
    return vault.writeSecret(
        `bundle-${app.name}`,
        { secretName, value: pulumi.secret(json), contentType: BUNDLE_CONTENT_TYPE },
        opts,
    );
}
